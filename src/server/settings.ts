/**
 * The page's settings object ↔ GenerateOptions, and PNG "parameters" text → settings (for the gallery and
 * "use these settings again"). Settings are checked against the form's field list (form-fields.ts): types,
 * ranges and choices; the library's resolveOptions then applies its own checks. Every problem is an
 * OptionsError with one line naming the field, which the page shows as a message.
 */
import { OptionsError } from '../errors.js';
import { MAX_PIXELS_WITHOUT_FORCE } from '../cli/target-size.js';
import { parseParameters } from '../cli/parameters.js';
import type { GenerateOptions, Method, SchedulerName } from '../options/generate-options.js';
import { OPTION_KEYS, OPTION_TABLE, tableDefault } from '../options/option-table.js';
import { DEFAULT_SCALE } from '../cli/generation-flags.js';
import { resolveOptions } from '../options/resolve-options.js';
import { checkWindowPromptsShape, type WindowPrompts } from '../patch/window-prompts.js';
import type { InputImage } from '../sampling/input-image.js';
import { runSize, scaledSize } from '../sampling/upscale-size.js';
import { formFields, type FormField } from './form-fields.js';
import type { ModelEntry } from './models.js';

/** What the page submits: the form's fields plus the model id, the size mode and optional window prompts. */
export interface Settings {
  readonly model: string;
  readonly sizeMode: 'scale' | 'pixels';
  readonly [key: string]: unknown;
}

/** A validated job request. */
export interface JobRequest {
  readonly model: ModelEntry;
  readonly options: GenerateOptions;
  /** Pause after the native pass for the user's window prompts. */
  readonly review: boolean;
  /** The settings as submitted, less the image (echoed back by "use these settings again"). */
  readonly settings: Record<string, unknown>;
  /** An upscale: the user's image and the exact output size (the run size is options.width × height). */
  readonly upscale?: { readonly input: InputImage; readonly width: number; readonly height: number };
}

const fail = (message: string): never => {
  throw new OptionsError(message);
};

function checkField(f: FormField, v: unknown): unknown {
  if (v === undefined || v === null || v === '') {
    if (f.kind === 'text' || f.kind === 'choice') return v === null ? null : undefined;
    return undefined;
  }
  switch (f.kind) {
    case 'bool':
      if (typeof v !== 'boolean') fail(`${f.label}: expected true or false`);
      return v;
    case 'text':
      if (typeof v !== 'string') fail(`${f.label}: expected text`);
      if ((v as string).length > 10000) fail(`${f.label}: longer than 10000 characters`);
      return v;
    case 'choice':
      if (!f.choices!.some((c) => c.value === v)) fail(`${f.label}: unknown choice "${String(v)}"`);
      return v;
    default: {
      const x = typeof v === 'number' ? v : fail(`${f.label}: expected a number`);
      if (!Number.isFinite(x) || (f.kind === 'int' && !Number.isInteger(x))) fail(`${f.label}: expected ${f.kind === 'int' ? 'an integer' : 'a number'}, got ${x}`);
      if ((f.min !== undefined && x < f.min) || (f.max !== undefined && x > f.max)) fail(`${f.label} must be in ${f.min}..${f.max}, got ${x}`);
      return x;
    }
  }
}

/** Option fields shaped by parseSettings itself; the other option-table fields go to the library as they are. */
const SHAPED = new Set(['prompt', 'negativePrompt', 'width', 'height', 'method', 'scheduler']);

/** Options only an upscale takes (rows with cli.upscaleOnly and a page part). */
const UPSCALE_ONLY = new Set(['strength', 'inputResidual']);

/** The exact target size and the run size: the form's size, or for an upscale scale × the input's size. */
function targetSize(s: Record<string, unknown>, v: Record<string, unknown>, model: ModelEntry, input?: InputImage): { width: number; height: number; runWidth: number; runHeight: number } {
  let width: number;
  let height: number;
  if (s.sizeMode === 'pixels') {
    if (v.width === undefined || v.height === undefined) fail('give both width and height');
    width = v.width as number;
    height = v.height as number;
    if (!input && (width % 8 !== 0 || height % 8 !== 0)) fail(`width and height must be multiples of 8, got ${width}x${height}`);
  } else if (s.sizeMode === 'scale' || s.sizeMode === undefined) {
    const scale = (v.scale as number | undefined) ?? DEFAULT_SCALE;
    if (input) {
      ({ width, height } = scaledSize(input.image, scale));
      if (width < 1 || height < 1) fail(`scale ${scale} makes ${input.image.width}x${input.image.height} smaller than one pixel`);
    } else {
      width = height = Math.round(model.nativeSize * scale);
      if (width % 8 !== 0) fail(`scale ${scale} gives ${model.nativeSize * scale} px from the native ${model.nativeSize} px, not a multiple of 8; use width × height`);
    }
  } else {
    return fail('sizeMode must be "scale" or "pixels"');
  }
  const run = input ? runSize(width, height) : { runWidth: width, runHeight: height };
  if (run.runWidth * run.runHeight > MAX_PIXELS_WITHOUT_FORCE) fail(`${run.runWidth}x${run.runHeight} is larger than the page allows (${MAX_PIXELS_WITHOUT_FORCE / 1024 / 1024} Mpx); the CLI runs it with --force`);
  return { width, height, ...run };
}

/**
 * Checks the page's settings and builds the job's GenerateOptions; throws OptionsError.
 * @param input the decoded "Image to upscale" (routes.ts reads the body's `image` with readInputImageBytes):
 *   the job is then an upscale, sized scale × the input's size as the CLI's `upscale --scale`
 */
export function parseSettings(body: unknown, models: readonly ModelEntry[], input?: InputImage): JobRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail('settings must be a JSON object');
  const { image: _image, ...s } = body as Record<string, unknown>;
  const fields = formFields();
  const known = new Set(['model', 'sizeMode', 'windowPrompts', ...fields.map((f) => f.key)]);
  for (const k of Object.keys(s)) if (!known.has(k)) fail(`unknown setting "${k}"`);
  const model = models.find((m) => m.id === s.model) ?? fail(typeof s.model === 'string' ? `unknown model "${s.model}" (choose one of the list)` : 'choose a model');
  const v: Record<string, unknown> = {};
  for (const f of fields) v[f.key] = checkField(f, s[f.key]);
  // an upscale may go without a prompt, except with accdiffusion (the library's checkUpscalePrompt says so)
  if (input) v.prompt ??= '';
  if (typeof v.prompt !== 'string' || (v.prompt.trim() === '' && !input)) fail('Prompt must not be empty');
  const size = targetSize(s, v, model, input);

  const windowPrompts: WindowPrompts | undefined = s.windowPrompts === undefined || s.windowPrompts === null ? undefined : checkWindowPromptsShape(s.windowPrompts, 'window prompts');
  const passed = fields.filter((f) => f.key in OPTION_TABLE && !SHAPED.has(f.key) && v[f.key] !== undefined && (input || !UPSCALE_ONLY.has(f.key)));
  const options: GenerateOptions = {
    prompt: v.prompt as string,
    // An empty negative prompt box means none (diffusers' default), as --no-negative-prompt; a request without
    // the field gets the library's (and the CLI's) default, the reference's negative prompt.
    ...(s.negativePrompt === undefined ? {} : { negativePrompt: typeof v.negativePrompt === 'string' && v.negativePrompt !== '' ? v.negativePrompt : null }),
    width: size.runWidth, height: size.runHeight,
    method: (v.method as Method | undefined) ?? (tableDefault('method') as Method),
    ...(v.scheduler ? { scheduler: v.scheduler as SchedulerName } : {}),
    ...Object.fromEntries(passed.map((f) => [f.key, v[f.key]])),
    ...(windowPrompts ? { windowPrompts } : {}),
    ...(input ? { image: input.image } : {}),
    // The page shows every stage's image as it finishes.
    stageImages: true,
  };
  resolveOptions(options, model.nativeLatentSize); // the library's own checks, before the job is queued
  return {
    model, options, review: v.review === true && options.method === 'accdiffusion' && options.patchPrompts !== false, settings: s,
    ...(input ? { upscale: { input, width: size.width, height: size.height } } : {}),
  };
}

/** Option keys by their name in a parameters text (option-table rows' `infotext`). */
const A1111_KEYS: Readonly<Record<string, string>> = Object.fromEntries(
  OPTION_KEYS.flatMap((k) => (OPTION_TABLE[k].infotext === undefined ? [] : [[OPTION_TABLE[k].infotext!, k]])),
);

/**
 * Settings from a PNG's "parameters" text (as the CLI and this server write it; A1111's own keys are read
 * where they mean the same). Unknown keys are skipped; the model is matched by id or folder name.
 */
export function settingsFromParameters(text: string, models: readonly ModelEntry[]): Record<string, unknown> {
  const p = parseParameters(text);
  const fields = new Map(formFields().map((f) => [f.key, f]));
  const out: Record<string, unknown> = { prompt: p.prompt, negativePrompt: p.negativePrompt ?? '' };
  for (const [name, raw] of p.values) {
    const key = A1111_KEYS[name];
    const f = key ? fields.get(key) : undefined;
    if (!key || !f) continue;
    if (f.kind === 'bool') out[key] = raw === 'True';
    else if (f.kind === 'int' || f.kind === 'number') out[key] = Number(raw);
    else out[key] = raw;
  }
  const size = /^(\d+)x(\d+)$/.exec(p.values.get('Size') ?? '');
  if (size) Object.assign(out, { sizeMode: 'pixels', width: Number(size[1]), height: Number(size[2]) });
  const strength = p.values.get('Denoising strength'); // an upscale's (withInputParameters)
  if (strength !== undefined && Number.isFinite(Number(strength))) out.strength = Number(strength);
  const sampler = p.values.get('Sampler');
  out.scheduler = sampler === 'DDIM' ? 'ddim' : sampler === 'Euler' ? 'euler' : '';
  const modelName = p.values.get('Model');
  const model = models.find((m) => m.id === modelName) ?? models.find((m) => modelName !== undefined && m.path.endsWith(`/${modelName}`));
  if (model) out.model = model.id;
  const wp = p.values.get('Window prompts');
  if (wp) {
    try {
      out.windowPrompts = checkWindowPromptsShape(JSON.parse(wp), 'Window prompts');
    } catch {
      // A damaged entry is left out; the rest of the settings still load.
    }
  }
  return out;
}
