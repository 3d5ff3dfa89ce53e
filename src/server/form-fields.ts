/**
 * The page's form (issue 15: "the same defaults, ranges and help text as the CLI"): each option's label,
 * page range, default, flag and help text come from the option table (src/options/option-table.ts), the
 * one the library and the CLI read; this file adds the page's order and its own two fields (scale preset,
 * review). The server validates submitted settings against the same list (settings.ts).
 */
import { DEFAULT_SCALE, scaleHelp } from '../cli/generation-flags.js';
import { METHODS, SCHEDULERS, type Method } from '../options/generate-options.js';
import { METHOD_TABLE, methodsUsing } from '../methods/index.js';
import { optionHelp } from '../options/help-text.js';
import type { OptionKind } from '../options/option-spec.js';
import { OPTION_TABLE, type OptionKey } from '../options/option-table.js';

/** Input kinds: int and number have a range; choice has choices; text may be multi-line. */
export type FieldKind = 'int' | 'number' | 'bool' | 'choice' | 'text';

/** One form field; `key` is the GenerateOptions (or settings) name. */
export interface FormField {
  readonly key: string;
  readonly label: string;
  readonly kind: FieldKind;
  readonly group: 'main' | 'advanced';
  /** The CLI flag (as `--flag`), or undefined for page-only fields. */
  readonly flag?: string;
  /** The CLI's help text for the flag. */
  readonly help: string;
  /** The default; null where the model decides (stride, scheduler) or none is set. */
  readonly default: number | string | boolean | null;
  readonly min?: number;
  readonly max?: number;
  readonly step?: number;
  readonly choices?: ReadonlyArray<{ readonly value: string; readonly label: string; readonly help?: string }>;
  /** Shown as several lines. */
  readonly multiline?: boolean;
  /** Only used by these methods (the page greys it out otherwise). */
  readonly methods?: readonly string[];
  /** Only for an upscale (the CLI's upscale-only flags): the page shows it when an image is chosen. */
  readonly upscaleOnly?: true;
}

/** One line per method: the method table's summaries. */
export const METHOD_HELP: Readonly<Record<Method, string>> = Object.fromEntries(METHODS.map((m) => [m, METHOD_TABLE[m].summary])) as Record<Method, string>;

/** Target-size presets (multiples of the native size); "custom" means width × height. */
export const SCALE_PRESETS: readonly number[] = [1.5, 2, 3, 4, 6, 8];

/** A field of the page alone (no library option): the target-size preset and the review switch. */
type PageOnlyField = Omit<FormField, 'default' | 'choices' | 'multiline' | 'upscaleOnly'> & { readonly default: number | boolean };

const SCALE_FIELD: PageOnlyField = {
  key: 'scale', label: 'Scale', kind: 'number', group: 'main', help: scaleHelp('generate'), default: DEFAULT_SCALE, flag: '--scale', min: 1, max: 16, step: 0.5,
};
const REVIEW_FIELD: PageOnlyField = {
  key: 'review', label: 'Let me edit window prompts after the native pass', kind: 'bool', group: 'main',
  help: 'pause after the native pass to show the per-word masks and every window\'s prompt; edit them and continue (the CLI takes the result\'s prompts with --window-prompts)',
  default: false, methods: methodsUsing('accdiffusion'),
};

/** The form in page order: option-table rows (their `page` part) and the page's own fields. */
const FORM: ReadonlyArray<OptionKey | PageOnlyField> = [
  'prompt', 'negativePrompt', 'method', SCALE_FIELD, 'width', 'height', 'strength', 'inputResidual', 'seed', 'steps', 'scheduler', 'guidance', 'multiGuidance',
  'guidanceRescale', 'c', 'stride', 'viewBatchSize', 'cosineScale1', 'cosineScale2', 'cosineScale3', 'sigma', 'patchPrompts',
  'windowInteraction', 'referenceCompat', REVIEW_FIELD,
];

const FIELD_KINDS: Readonly<Partial<Record<OptionKind, FieldKind>>> = { integer: 'int', seed: 'int', number: 'number', boolean: 'bool', choice: 'choice', text: 'text' };

/** Defaults the page shows differently from the table: none for the size (the scale decides) and "the model's" for stride and scheduler. */
const PAGE_DEFAULTS: Readonly<Record<string, number | string | boolean | null>> = { prompt: '', width: null, height: null, stride: null, scheduler: '' };

/** A field from its option-table row: label and range from `page`, help and default from the row. */
function tableField(key: OptionKey): FormField {
  const spec = OPTION_TABLE[key];
  const page = spec.page;
  const kind = FIELD_KINDS[spec.kind];
  if (!page || !kind) throw new Error(`option ${key} is not a page field`);
  // The library's defaults for accdiffusion (patch prompts and window interaction are on only there).
  const d = spec.default;
  const def = key in PAGE_DEFAULTS ? PAGE_DEFAULTS[key]! : typeof d === 'function' ? d({ method: 'accdiffusion', nativeLatent: 2 }) : d ?? null;
  const field: FormField = {
    key, label: page.label, kind, group: page.group, help: optionHelp(key), default: def,
    ...(spec.cli ? { flag: spec.cli.flag.split(' ')[0]! } : {}),
    ...(page.min !== undefined ? { min: page.min } : {}), ...(page.max !== undefined ? { max: page.max } : {}), ...(page.step !== undefined ? { step: page.step } : {}),
    ...(page.multiline ? { multiline: true } : {}), ...(spec.usedBy ? { methods: methodsUsing(spec.usedBy) } : {}),
    ...(spec.cli?.upscaleOnly ? { upscaleOnly: true } : {}),
  };
  if (key === 'method') return { ...field, choices: METHODS.map((m) => ({ value: m, label: m, help: METHOD_HELP[m] })) };
  if (key === 'scheduler') return { ...field, choices: [{ value: '', label: 'the model\'s' }, ...SCHEDULERS.map((s) => ({ value: s, label: s }))] };
  return field;
}

/** Every form field, with the option table's labels, ranges, defaults and help texts (the CLI's). */
export function formFields(): FormField[] {
  return FORM.map((f) => (typeof f === 'string' ? tableField(f) : { ...f }));
}
