/**
 * Every generation option, declared once (issue 10): kind, default, unit, range, help text, command-line
 * flag and page field. resolveOptions (resolve-options.ts) validates through it; the CLI builds its commander
 * flags and converts their strings with it (src/cli/generation-flags.ts, src/cli/library-values.ts); the
 * web page builds its form from it (src/server/form-fields.ts). Defaults are the reference CLI's
 * (accdiffusion_sdxl.py, spec §8.1) unless the row says otherwise.
 *
 * The rows are in the order of ResolvedOptions' keys, which is the order of a report's `options` object:
 * keep it (reports and resume checkpoints are compared as JSON).
 */
import { findSchedulerName } from '../schedulers/names.js';
import type { GenerateOptions } from './generate-options.js';
import { METHODS, REFERENCE_NEGATIVE_PROMPT, SCHEDULERS } from './generate-options.js';
import type { OptionSpec, OptionValue } from './option-spec.js';

/** The option table: one row per GenerateOptions key (the mapped type makes a missing row a compile error). */
export const OPTION_TABLE: { readonly [K in keyof Required<GenerateOptions>]: OptionSpec } = {
  prompt: {
    kind: 'text', help: 'what to draw',
    cli: { flag: '--prompt <text>' },
    page: { label: 'Prompt', group: 'main', multiline: true },
  },
  negativePrompt: {
    kind: 'text', help: 'negative prompt', default: REFERENCE_NEGATIVE_PROMPT, nullable: true,
    cli: { flag: '--negative-prompt <text>', off: { flag: '--no-negative-prompt', help: 'no negative prompt at all' } },
    page: { label: 'Negative prompt', group: 'main', multiline: true },
  },
  width: {
    kind: 'integer', help: 'target width in pixels (multiple of 8)', unit: 'pixels', range: { min: 1, multipleOf: 8 },
    cli: { flag: '--width <px>' },
    page: { label: 'Width', group: 'main', min: 8, max: 16384, step: 8 },
  },
  height: {
    kind: 'integer', help: 'target height in pixels (multiple of 8)', unit: 'pixels', range: { min: 1, multipleOf: 8 },
    cli: { flag: '--height <px>' },
    page: { label: 'Height', group: 'main', min: 8, max: 16384, step: 8 },
  },
  method: {
    kind: 'choice', help: `one of ${METHODS.join(', ')}`, choices: METHODS, default: 'accdiffusion',
    infotext: 'Method',
    cli: { flag: '--method <name>' },
    page: { label: 'Method', group: 'main' },
  },
  steps: {
    kind: 'integer', help: 'denoising steps per stage', unit: 'steps', range: { min: 1 }, default: 50,
    infotext: 'Steps',
    cli: { flag: '--steps <n>' },
    page: { label: 'Steps', group: 'main', min: 1, max: 1000, step: 1 },
  },
  guidance: {
    kind: 'number', help: 'CFG scale of the native pass and dilated branch', unit: 'CFG scale', default: 7.5,
    infotext: 'CFG scale',
    cli: { flag: '--guidance <x>' },
    page: { label: 'CFG scale', group: 'advanced', min: -50, max: 50, step: 0.5 },
  },
  multiGuidance: {
    kind: 'number', help: 'CFG scale of the patch branch', unit: 'CFG scale', default: 7.5,
    infotext: 'Multi CFG scale',
    cli: { flag: '--multi-guidance <x>' },
    usedBy: 'windowed',
    page: { label: 'Patch CFG scale', group: 'advanced', min: -50, max: 50, step: 0.5 },
  },
  guidanceRescale: {
    kind: 'number', help: 'diffusers guidance_rescale in [0, 1]', range: { min: 0, max: 1 }, default: 0,
    infotext: 'Guidance rescale',
    cli: { flag: '--guidance-rescale <x>' },
    page: { label: 'Guidance rescale', group: 'advanced', min: 0, max: 1, step: 0.05 },
  },
  seed: {
    kind: 'seed', help: 'random seed', default: 42,
    infotext: 'Seed',
    cli: { flag: '--seed <n>' },
    page: { label: 'Seed', group: 'main', min: 0, max: Number.MAX_SAFE_INTEGER, step: 1 },
  },
  scheduler: {
    kind: 'choice', help: `${SCHEDULERS.join(', ')} or an A1111/diffusers name; "help" lists them`, defaultText: 'the model\'s scheduler',
    choices: SCHEDULERS, normalize: findSchedulerName,
    cli: { flag: '--scheduler <name>', hint: '"--scheduler help" lists them' },
    page: { label: 'Scheduler', group: 'main' },
  },
  c: {
    kind: 'number', help: 'attention-ratio threshold of patch prompts', unit: 'share of the window', range: { min: 0, max: 1 }, default: 0.3,
    infotext: 'c',
    cli: { flag: '--c <x>' },
    usedBy: 'accdiffusion',
    page: { label: 'c (mask share)', group: 'advanced', min: 0, max: 1, step: 0.05 },
  },
  stride: {
    kind: 'integer', help: 'window stride in latent cells of demofusion/multidiffusion and of accdiffusion with --no-patch-prompts',
    unit: 'latent cells', range: { min: 1, max: 'nativeLatent' },
    default: ({ nativeLatent }) => Math.max(1, Math.floor(nativeLatent / 2)),
    defaultText: 'half the native latent size; patch-prompt windows always use half',
    infotext: 'Stride',
    cli: { flag: '--stride <cells>' },
    usedBy: 'windowed',
    page: { label: 'Stride (latent cells)', group: 'advanced', min: 1, max: 1024, step: 1 },
  },
  viewBatchSize: {
    kind: 'integer', help: 'windows per batch; sets which dilated sub-latents trade values in window interaction', unit: 'windows', range: { min: 1 }, default: 16,
    infotext: 'View batch size',
    cli: { flag: '--view-batch-size <n>' },
    usedBy: 'windowed',
    page: { label: 'Windows per batch', group: 'advanced', min: 1, max: 256, step: 1 },
  },
  cosineScale1: {
    kind: 'number', help: 'exponent of the skip-residual factor', unit: 'exponent', range: { min: 0 }, default: 3,
    infotext: 'Cosine scale 1',
    cli: { flag: '--cosine-scale-1 <x>' },
    usedBy: 'progressive',
    page: { label: 'Cosine scale 1', group: 'advanced', min: 0, max: 20, step: 0.1 },
  },
  cosineScale2: {
    kind: 'number', help: 'exponent of the dilated-sampling factor', unit: 'exponent', range: { min: 0 }, default: 1,
    infotext: 'Cosine scale 2',
    cli: { flag: '--cosine-scale-2 <x>' },
    usedBy: 'progressive',
    page: { label: 'Cosine scale 2', group: 'advanced', min: 0, max: 20, step: 0.1 },
  },
  cosineScale3: {
    kind: 'number', help: 'exponent of the blur factor', unit: 'exponent', range: { min: 0 }, default: 1,
    infotext: 'Cosine scale 3',
    cli: { flag: '--cosine-scale-3 <x>' },
    usedBy: 'progressive',
    page: { label: 'Cosine scale 3', group: 'advanced', min: 0, max: 20, step: 0.1 },
  },
  sigma: {
    kind: 'number', help: 'Gaussian blur std before dilated sampling', unit: 'latent cells', range: { min: 0, minExclusive: true }, default: 0.8,
    infotext: 'Sigma',
    cli: { flag: '--sigma <x>' },
    usedBy: 'progressive',
    page: { label: 'Sigma (blur)', group: 'advanced', min: 0.01, max: 10, step: 0.05 },
  },
  patchPrompts: {
    kind: 'boolean', help: 'patch-content-aware prompts', default: ({ method }) => method === 'accdiffusion', defaultText: 'on for accdiffusion',
    infotext: 'Patch prompts',
    cli: { flag: '--no-patch-prompts', help: 'same prompt in every window (ablation)' },
    usedBy: 'accdiffusion',
    page: { label: 'Patch prompts', group: 'advanced' },
  },
  windowInteraction: {
    kind: 'boolean', help: 'window interaction in dilated sampling', default: ({ method }) => method === 'accdiffusion', defaultText: 'on for accdiffusion',
    infotext: 'Window interaction',
    cli: { flag: '--no-window-interaction', help: 'no window interaction in dilated sampling (ablation)' },
    usedBy: 'progressive',
    page: { label: 'Window interaction', group: 'advanced' },
  },
  referenceCompat: {
    kind: 'boolean', help: 'reproduce the reference code\'s scheduler input-scaling quirk', default: false,
    infotext: 'Reference compat',
    cli: { flag: '--reference-compat' },
    page: { label: 'Reference compat', group: 'advanced' },
  },
  stageImages: {
    kind: 'boolean', help: 'decode every stage\'s image (the CLI sets it for --save-stages)', default: false,
  },
  initLatents: {
    kind: 'tensor', help: 'initial latents [1,4,h,w] of the native-size pass, as diffusers\' latents=',
    cli: { flag: '--init-latents <file>', help: 'safetensors with tensor "latents" [1,4,h,w] float32 for the native pass', file: true },
  },
  promptWeighting: {
    kind: 'boolean', help: 'A1111 emphasis syntax and prompts longer than 75 tokens in chunks', default: true,
    cli: { flag: '--no-prompt-weighting', help: 'take the prompt literally and cut it at 77 tokens, as diffusers (default: A1111 (word:1.2) syntax, long prompts in 75-token chunks)' },
  },
  maxPromptChunks: {
    kind: 'integer', help: 'most 75-token chunks per prompt when weighting', unit: 'prompt chunks', range: { min: 1 }, default: 4,
    cli: { flag: '--max-prompt-chunks <n>' },
  },
  inputResidual: {
    kind: 'boolean', help: 'stages no larger than the input take its own encoding as the skip-residual source (docs/upscale.md)', default: false,
    cli: { flag: '--input-residual', upscaleOnly: true },
    page: { label: 'Input residual', group: 'advanced' },
  },
  strength: {
    kind: 'number', help: 'how much of the first pass\'s schedule re-noises the input, in [0, 1]', unit: 'share of the schedule', range: { min: 0, max: 1 }, default: 0.5,
    cli: { flag: '--strength <x>', upscaleOnly: true },
    page: { label: 'Strength', group: 'main', min: 0, max: 1, step: 0.05 },
  },
  windowPrompts: {
    kind: 'windowPrompts', help: 'per-stage window prompts {"2": ["...", ...]} replacing AccDiffusion\'s (or a --report file)',
    cli: { flag: '--window-prompts <file.json>' },
  },
  image: {
    kind: 'image', help: 'input image (PNG, JPEG, WebP; alpha flattened onto white)',
    cli: { flag: '--image <file>', file: true, upscaleOnly: true },
  },
};

/** A GenerateOptions key. */
export type OptionKey = keyof typeof OPTION_TABLE;

/** The rows in table order. */
export const OPTION_KEYS = Object.keys(OPTION_TABLE) as OptionKey[];

/** A plain (context-free) default of the table, e.g. tableDefault('seed') = 42. */
export function tableDefault(key: OptionKey): OptionValue {
  const d = OPTION_TABLE[key].default;
  if (d === undefined || typeof d === 'function') throw new Error(`option ${key} has no plain default`);
  return d;
}
