/**
 * The "parameters" text that AUTOMATIC1111's webui (modules/processing.py create_infotext, and
 * modules/infotext_utils.py parse_generation_parameters) stores in its PNGs and that ComfyUI and
 * image browsers read: the prompt, a "Negative prompt:" line, then "Key: value, ..." pairs. The keys
 * A1111 knows come first under its names; AccDiffusion's own parameters follow. Each option's name is its
 * option-table row's `infotext` (src/options/option-table.ts).
 */
import type { ResolvedOptions } from '../options/generate-options.js';
import { OPTION_KEYS, OPTION_TABLE, type OptionKey } from '../options/option-table.js';
import { findSchedulerName, SCHEDULER_CHOICES } from '../schedulers/names.js';

/** Options as a report holds them. */
export type ReportedOptions = Omit<ResolvedOptions, 'initLatents'>;

/** A1111 quotes a value only when it holds a separator, as JSON. */
function quote(v: string): string {
  return /[,:\n]/.test(v) ? JSON.stringify(v) : v;
}

/** A1111's sampler names for our schedulers; the model's own scheduler class otherwise. */
export function samplerName(scheduler: string | undefined, modelSchedulerClass?: string): string {
  const s = scheduler !== undefined ? findSchedulerName(scheduler) : undefined;
  if (s) return SCHEDULER_CHOICES[s].a1111;
  // The model's own class: its A1111 name when the class alone decides it (not DPMSolverMultistep, whose Karras flag is in the config).
  const own = modelSchedulerClass === 'DPMSolverMultistepScheduler' ? undefined : modelSchedulerClass && findSchedulerName(modelSchedulerClass);
  if (own) return SCHEDULER_CHOICES[own].a1111;
  return modelSchedulerClass ?? 'default';
}

const yesNo = (b: boolean) => (b ? 'True' : 'False');

/** Options whose pairs come first, in A1111's order, between its own keys (Sampler, Size, Model). */
const A1111_FIRST: readonly OptionKey[] = ['steps', 'guidance', 'seed', 'method'];

export interface ParametersInput {
  readonly options: ReportedOptions;
  /** Model name (the folder's base name or repo id). */
  readonly model: string;
  /** The scheduler class of the model's scheduler_config.json, used when options.scheduler is unset. */
  readonly modelSchedulerClass?: string;
  /** Tool version, e.g. "accdiffusion 0.1.0". */
  readonly version?: string;
  /** LoRAs applied: written as A1111 does, `<lora:name:scale>` after the prompt and a "Lora hashes" entry. */
  readonly loras?: ReadonlyArray<{ readonly name: string; readonly hash: string; readonly scale: number }>;
}

/** The parameters text for a generation. */
export function formatParameters(p: ParametersInput): string {
  const o = p.options;
  const name = (key: OptionKey): string => OPTION_TABLE[key].infotext!;
  const pairs: Array<[string, string | number]> = [
    [name('steps'), o.steps],
    ['Sampler', samplerName(o.scheduler, p.modelSchedulerClass)],
    [name('guidance'), o.guidance],
    [name('seed'), String(o.seed)],
    ['Size', `${o.width}x${o.height}`],
    ['Model', p.model],
    ...(p.loras?.length ? [['Lora hashes', p.loras.map((l) => `${l.name}: ${l.hash}`).join(', ')] as [string, string]] : []),
    [name('method'), o.method],
  ];
  // AccDiffusion's own parameters follow A1111's, in the option table's order
  const values = o as unknown as Readonly<Record<OptionKey, unknown>>;
  for (const key of OPTION_KEYS) {
    const infotext = OPTION_TABLE[key].infotext;
    const v = values[key];
    if (infotext === undefined || A1111_FIRST.includes(key)) continue;
    pairs.push([infotext, typeof v === 'boolean' ? yesNo(v) : (v as number)]);
  }
  // A1111 writes "Emphasis" only when it is not its default ("Original"); "None" reads brackets literally.
  if (o.promptWeighting === false) pairs.push(['Emphasis', 'None']);
  if (o.windowPrompts) pairs.push(['Window prompts', JSON.stringify(o.windowPrompts)]);
  if (p.version) pairs.push(['Version', p.version]);
  const lines = [o.prompt + (p.loras ?? []).map((l) => ` <lora:${l.name}:${l.scale}>`).join('')];
  if (o.negativePrompt !== null && o.negativePrompt !== '') lines.push(`Negative prompt: ${o.negativePrompt}`);
  lines.push(pairs.map(([k, v]) => `${k}: ${quote(String(v))}`).join(', '));
  return lines.join('\n');
}

/** Splits a parameters text back into prompt, negative prompt and key/value pairs (A1111's parser, simplified). */
export function parseParameters(text: string): { prompt: string; negativePrompt: string | null; values: Map<string, string> } {
  const lines = text.split('\n');
  const last = lines[lines.length - 1] ?? '';
  const re = /\s*([\w][\w \-/]*):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)/g;
  const values = new Map<string, string>();
  const pairs = lines.length > 1 ? [...last.matchAll(re)] : [];
  for (const m of pairs) values.set(m[1]!, m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!);
  const body = pairs.length > 0 ? lines.slice(0, -1) : lines;
  const negAt = body.findIndex((l) => l.startsWith('Negative prompt: '));
  const prompt = (negAt < 0 ? body : body.slice(0, negAt)).join('\n');
  const negativePrompt = negAt < 0 ? null : body.slice(negAt).join('\n').slice('Negative prompt: '.length);
  return { prompt, negativePrompt, values };
}
