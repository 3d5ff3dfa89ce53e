/**
 * The model-file flags shared by `generate` and `info` (issue 13): `--config DIR` (configs and tokenizers for a
 * single-file checkpoint), `--lora`, `--vae` and `--prediction-type`. Checked here; src/loading/ reads the files.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { fail, oneOf } from './arg-values.js';
import { parseLoraArgument, type LoraSpec } from '../loading/lora.js';

export const PREDICTION_TYPES = ['epsilon', 'v_prediction'] as const;

/** The checked values. */
export interface ModelFileFlags {
  /** Absolute path of a diffusers folder. */
  readonly config?: string;
  readonly predictionType?: (typeof PREDICTION_TYPES)[number];
  /** Absolute path of a VAE folder or file. */
  readonly vae?: string;
  /** `--lora FILE[:SCALE]`, in the order given (absolute paths). */
  readonly loras?: readonly LoraSpec[];
}

/** Declares the flags on a subcommand. */
export function addModelFileFlags(cmd: Command): Command {
  return cmd
    .option('--config <folder>', 'for a single-file checkpoint: take configs and tokenizers from this diffusers folder (default: the detected family\'s shipped configs)')
    .option('--lora <file[:scale]>', 'a LoRA (.safetensors, kohya/A1111 or diffusers format) with its scale (default 1); repeat for several', (v: string, list: string[] = []) => [...list, v])
    .option('--vae <folder|file>', 'a diffusers VAE folder or a .safetensors VAE replacing the model\'s (e.g. the SDXL fp16-fix VAE)')
    .addOption(new Option('--prediction-type <type>', `override the scheduler's prediction type (${PREDICTION_TYPES.join(' or ')}; e.g. SD2 512-base checkpoints)`));
}

/** Checks the raw values (one OptionsError line on a bad one). */
export function modelFileFlags(o: Record<string, string | boolean | undefined>, cwd: string): ModelFileFlags {
  const raw = typeof o.config === 'string' ? o.config : undefined;
  let config: string | undefined;
  if (raw !== undefined) {
    config = resolve(cwd, raw);
    if (!existsSync(config) || !statSync(config).isDirectory()) fail(`--config: ${config} is not a folder (a diffusers model folder with model_index.json is expected)`);
  }
  const predictionType = oneOf('--prediction-type', typeof o.predictionType === 'string' ? o.predictionType : undefined, PREDICTION_TYPES);
  const vaeRaw = typeof o.vae === 'string' ? o.vae : undefined;
  const vae = vaeRaw === undefined ? undefined : resolve(cwd, vaeRaw);
  if (vae !== undefined && !existsSync(vae)) fail(`--vae: ${vae} does not exist`);
  const rawLoras = (o as Record<string, unknown>).lora;
  const loras = (Array.isArray(rawLoras) ? (rawLoras as string[]) : []).map((arg) => {
    const spec = parseLoraArgument(arg);
    const file = resolve(cwd, spec.file);
    // FILE:SCALE with a scale that is not a number reads as a file name holding a colon: name both readings
    const colon = spec.file === arg ? arg.lastIndexOf(':') : -1;
    if (!existsSync(file) && colon > 0) fail(`--lora ${arg}: no file ${file}, and "${arg.slice(colon + 1)}" is not a scale (FILE[:SCALE], e.g. style.safetensors:0.8)`);
    if (!existsSync(file)) fail(`--lora: file ${file} does not exist`);
    if (!statSync(file).isFile()) fail(`--lora: ${file} is a folder, not a .safetensors file`);
    if (!Number.isFinite(spec.scale)) fail(`--lora: scale of ${arg} is not a finite number`);
    return { file, scale: spec.scale };
  });
  return {
    ...(config !== undefined ? { config } : {}), ...(predictionType ? { predictionType } : {}), ...(vae !== undefined ? { vae } : {}),
    ...(loras.length ? { loras } : {}),
  };
}
