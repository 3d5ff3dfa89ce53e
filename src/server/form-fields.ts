/**
 * The page's form, declared once from what the CLI and the library already declare (issue 15: "the same
 * defaults, ranges and help text as the CLI"): each field's flag and help text are read from the CLI's
 * commander table (src/cli/flags.ts), its default from the library's resolveOptions (src/pipeline/options.ts);
 * this file adds only what a form needs (input kind, range, group). The server validates submitted settings
 * against the same list (settings.ts).
 */
import type { Option } from 'commander';
import { buildProgram, DEFAULT_SCALE, DEFAULT_SEED } from '../cli/flags.js';
import { METHODS, REFERENCE_NEGATIVE_PROMPT, resolveOptions, SCHEDULERS } from '../pipeline/options.js';

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
}

/** One line per method (README "Methods" table, shortened). */
export const METHOD_HELP: Readonly<Record<(typeof METHODS)[number], string>> = {
  accdiffusion: 'DemoFusion plus per-window prompts from the native pass\'s attention masks and window interaction (Lin et al. 2024)',
  demofusion: 'native pass, then progressive upscaling with skip residual, patch windows and a dilated global branch (Du et al. 2024)',
  multidiffusion: 'overlapping native-size windows over the target, same prompt everywhere, averaged (Bar-Tal et al. 2023)',
  direct: 'the plain pipeline at the target size: repeats objects above the native size',
  'attn-sf': 'direct inference with self-attention scaled by √(log N / log n) (Jin et al. 2023)',
  scalecrafter: 'direct inference with re-dilated convolutions early and noise-damped guidance (He et al. 2024)',
};

/** Target-size presets (multiples of the native size); "custom" means width × height. */
export const SCALE_PRESETS: readonly number[] = [1.5, 2, 3, 4, 6, 8];

interface UiSpec {
  readonly key: string;
  readonly label: string;
  readonly kind: FieldKind;
  readonly group: 'main' | 'advanced';
  readonly flag?: string;
  readonly help?: string;
  readonly min?: number;
  readonly max?: number;
  readonly step?: number;
  readonly multiline?: boolean;
  readonly methods?: readonly string[];
}

const PROGRESSIVE = ['accdiffusion', 'demofusion'];
const WINDOWED = ['accdiffusion', 'demofusion', 'multidiffusion'];

/** What the form adds to the CLI's flags: kind, group, range. Order = order on the page. */
const UI: readonly UiSpec[] = [
  { key: 'prompt', label: 'Prompt', kind: 'text', group: 'main', flag: '--prompt', multiline: true },
  { key: 'negativePrompt', label: 'Negative prompt', kind: 'text', group: 'main', flag: '--negative-prompt', multiline: true },
  { key: 'method', label: 'Method', kind: 'choice', group: 'main', flag: '--method' },
  { key: 'scale', label: 'Scale', kind: 'number', group: 'main', flag: '--scale', min: 1, max: 16, step: 0.5 },
  { key: 'width', label: 'Width', kind: 'int', group: 'main', flag: '--width', min: 8, max: 16384, step: 8 },
  { key: 'height', label: 'Height', kind: 'int', group: 'main', flag: '--height', min: 8, max: 16384, step: 8 },
  { key: 'seed', label: 'Seed', kind: 'int', group: 'main', flag: '--seed', min: 0, max: Number.MAX_SAFE_INTEGER, step: 1 },
  { key: 'steps', label: 'Steps', kind: 'int', group: 'main', flag: '--steps', min: 1, max: 1000, step: 1 },
  { key: 'scheduler', label: 'Scheduler', kind: 'choice', group: 'main', flag: '--scheduler' },
  { key: 'guidance', label: 'CFG scale', kind: 'number', group: 'advanced', flag: '--guidance', min: -50, max: 50, step: 0.5 },
  { key: 'multiGuidance', label: 'Patch CFG scale', kind: 'number', group: 'advanced', flag: '--multi-guidance', min: -50, max: 50, step: 0.5, methods: WINDOWED },
  { key: 'guidanceRescale', label: 'Guidance rescale', kind: 'number', group: 'advanced', flag: '--guidance-rescale', min: 0, max: 1, step: 0.05 },
  { key: 'c', label: 'c (mask share)', kind: 'number', group: 'advanced', flag: '--c', min: 0, max: 1, step: 0.05, methods: ['accdiffusion'] },
  { key: 'stride', label: 'Stride (latent cells)', kind: 'int', group: 'advanced', flag: '--stride', min: 1, max: 1024, step: 1, methods: WINDOWED },
  { key: 'viewBatchSize', label: 'Windows per batch', kind: 'int', group: 'advanced', flag: '--view-batch-size', min: 1, max: 256, step: 1, methods: WINDOWED },
  { key: 'cosineScale1', label: 'Cosine scale 1', kind: 'number', group: 'advanced', flag: '--cosine-scale-1', min: 0, max: 20, step: 0.1, methods: PROGRESSIVE },
  { key: 'cosineScale2', label: 'Cosine scale 2', kind: 'number', group: 'advanced', flag: '--cosine-scale-2', min: 0, max: 20, step: 0.1, methods: PROGRESSIVE },
  { key: 'cosineScale3', label: 'Cosine scale 3', kind: 'number', group: 'advanced', flag: '--cosine-scale-3', min: 0, max: 20, step: 0.1, methods: PROGRESSIVE },
  { key: 'sigma', label: 'Sigma (blur)', kind: 'number', group: 'advanced', flag: '--sigma', min: 0.01, max: 10, step: 0.05, methods: PROGRESSIVE },
  { key: 'patchPrompts', label: 'Patch prompts', kind: 'bool', group: 'advanced', flag: '--no-patch-prompts', methods: ['accdiffusion'] },
  { key: 'windowInteraction', label: 'Window interaction', kind: 'bool', group: 'advanced', flag: '--no-window-interaction', methods: PROGRESSIVE },
  { key: 'referenceCompat', label: 'Reference compat', kind: 'bool', group: 'advanced', flag: '--reference-compat' },
  {
    key: 'review', label: 'Let me edit window prompts after the native pass', kind: 'bool', group: 'main', methods: ['accdiffusion'],
    help: 'pause after the native pass to show the per-word masks and every window\'s prompt; edit them and continue (the CLI takes the result\'s prompts with --window-prompts)',
  },
];

/** The CLI's `generate` options by long flag. */
function cliOptions(): Map<string, Option> {
  const program = buildProgram(() => {}, { generate: () => {}, upscale: () => {}, info: () => {} });
  const generate = program.commands.find((c) => c.name() === 'generate');
  if (!generate) throw new Error('the CLI has no generate command');
  return new Map(generate.options.filter((o) => o.long).map((o) => [o.long!, o]));
}

/**
 * Every form field with the CLI's help text and the library's defaults. `nativeLatent` is used for the
 * stride default only when given (else null: "the model's").
 */
export function formFields(): FormField[] {
  const flags = cliOptions();
  // The library's defaults for accdiffusion (patch prompts and window interaction are on only there).
  const d = resolveOptions({ prompt: '', width: 8, height: 8 }, 2) as unknown as Record<string, unknown>;
  const defaults: Record<string, number | string | boolean | null> = {
    prompt: '', negativePrompt: REFERENCE_NEGATIVE_PROMPT, scale: DEFAULT_SCALE, width: null, height: null, seed: DEFAULT_SEED,
    scheduler: '', stride: null, review: false,
  };
  return UI.map((u) => {
    const opt = u.flag ? flags.get(u.flag) : undefined;
    if (u.flag && !opt) throw new Error(`form field ${u.key}: the CLI has no ${u.flag}`);
    const def = u.key in defaults ? defaults[u.key]! : (d[u.key] as number | string | boolean | undefined) ?? null;
    const field: FormField = {
      key: u.key, label: u.label, kind: u.kind, group: u.group, help: u.help ?? opt!.description, default: def,
      ...(u.flag ? { flag: u.flag } : {}),
      ...(u.min !== undefined ? { min: u.min } : {}), ...(u.max !== undefined ? { max: u.max } : {}), ...(u.step !== undefined ? { step: u.step } : {}),
      ...(u.multiline ? { multiline: true } : {}), ...(u.methods ? { methods: u.methods } : {}),
    };
    if (u.key === 'method') return { ...field, choices: METHODS.map((m) => ({ value: m, label: m, help: METHOD_HELP[m] })) };
    if (u.key === 'scheduler') return { ...field, choices: [{ value: '', label: 'the model\'s' }, ...SCHEDULERS.map((s) => ({ value: s, label: s }))] };
    return field;
  });
}
