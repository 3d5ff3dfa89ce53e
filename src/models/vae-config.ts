/**
 * The config.json of a diffusers `vae/` folder: `AutoencoderKL`'s registered config (diffusers v0.27
 * models/autoencoders/autoencoder_kl.py `AutoencoderKL.__init__`), parsed and validated once. Omitted keys
 * take diffusers' defaults. `use_quant_conv` / `use_post_quant_conv` / `mid_block_add_attention` are later
 * diffusers additions; accepting them (default true, the v0.27 behaviour) lets newer VAE folders load.
 */

import { ConfigError, describeValue } from '../errors.js';
import { ACTIVATIONS, type ActivationName } from './activations.js';

export interface AutoencoderKLConfig {
  readonly in_channels: number;
  readonly out_channels: number;
  readonly down_block_types: readonly 'DownEncoderBlock2D'[];
  readonly up_block_types: readonly 'UpDecoderBlock2D'[];
  readonly block_out_channels: readonly number[];
  readonly layers_per_block: number;
  /** Resnet activation only: the Encoder/Decoder conv_act is always SiLU. */
  readonly act_fn: ActivationName;
  readonly latent_channels: number;
  readonly norm_num_groups: number;
  readonly sample_size: number;
  readonly scaling_factor: number;
  readonly latents_mean: readonly number[] | null;
  readonly latents_std: readonly number[] | null;
  readonly force_upcast: boolean;
  readonly use_quant_conv: boolean;
  readonly use_post_quant_conv: boolean;
  readonly mid_block_add_attention: boolean;
}

/** diffusers' AutoencoderKL.__init__ defaults. */
const DEFAULTS: AutoencoderKLConfig = {
  in_channels: 3,
  out_channels: 3,
  down_block_types: ['DownEncoderBlock2D'],
  up_block_types: ['UpDecoderBlock2D'],
  block_out_channels: [64],
  layers_per_block: 1,
  act_fn: 'silu',
  latent_channels: 4,
  norm_num_groups: 32,
  sample_size: 32,
  scaling_factor: 0.18215,
  latents_mean: null,
  latents_std: null,
  force_upcast: true,
  use_quant_conv: true,
  use_post_quant_conv: true,
  mid_block_add_attention: true,
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Most encoder + decoder resnets a VAE config may describe. */
export const MAX_VAE_RESNETS = 10_000;

/** Validates and fills a parsed vae config.json; `file` is named in every error. */
export function parseAutoencoderKLConfig(json: unknown, file: string): AutoencoderKLConfig {
  if (!isRecord(json)) throw new ConfigError(`${file}: expected a JSON object`);
  const src = json;
  const bad = (field: string, value: unknown, expected: string): never => {
    throw new ConfigError(`${file}: ${field} is ${describeValue(value)}, expected ${expected}`);
  };
  const get = <K extends keyof AutoencoderKLConfig>(k: K): unknown => (src[k] === undefined ? DEFAULTS[k] : src[k]);
  const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;
  const int = (k: keyof AutoencoderKLConfig, min: number): number => {
    const v = get(k);
    if (!isInt(v, min)) bad(k, v, `an integer >= ${min}`);
    return v as number;
  };
  const bool = (k: keyof AutoencoderKLConfig): boolean => {
    const v = get(k);
    if (typeof v !== 'boolean') bad(k, v, 'true or false');
    return v as boolean;
  };
  const numbersOrNull = (k: 'latents_mean' | 'latents_std'): readonly number[] | null => {
    const v = get(k);
    if (v === null) return null;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) bad(k, v, 'null or a list of numbers');
    return v as number[];
  };

  const boc = get('block_out_channels');
  if (!Array.isArray(boc) || boc.length === 0) bad('block_out_channels', boc, 'a non-empty list of channel counts');
  (boc as unknown[]).forEach((c, i) => {
    if (!isInt(c, 1)) bad(`block_out_channels[${i}]`, c, 'a positive integer');
  });
  const blockOut = boc as number[];

  const blockTypes = <T extends string>(k: 'down_block_types' | 'up_block_types', want: T): T[] => {
    const v = get(k);
    if (!Array.isArray(v)) bad(k, v, `a list of ${blockOut.length} block types`);
    (v as unknown[]).forEach((t, i) => {
      if (t !== want) throw new ConfigError(`${file}: unknown block type ${describeValue(t)} in ${k}[${i}], expected "${want}"`);
    });
    if ((v as unknown[]).length !== blockOut.length) {
      bad(k, v, `${blockOut.length} entries, one per block_out_channels entry`);
    }
    return v as T[];
  };

  const act = get('act_fn');
  if (!(ACTIVATIONS as readonly unknown[]).includes(act)) bad('act_fn', act, `one of ${ACTIVATIONS.join(', ')}`);

  const scaling = get('scaling_factor');
  if (typeof scaling !== 'number' || !Number.isFinite(scaling) || scaling <= 0) bad('scaling_factor', scaling, 'a positive number');

  const config: AutoencoderKLConfig = {
    in_channels: int('in_channels', 1),
    out_channels: int('out_channels', 1),
    down_block_types: blockTypes('down_block_types', 'DownEncoderBlock2D'),
    up_block_types: blockTypes('up_block_types', 'UpDecoderBlock2D'),
    block_out_channels: blockOut,
    layers_per_block: int('layers_per_block', 1),
    act_fn: act as ActivationName,
    latent_channels: int('latent_channels', 1),
    norm_num_groups: int('norm_num_groups', 1),
    sample_size: int('sample_size', 1),
    scaling_factor: scaling as number,
    latents_mean: numbersOrNull('latents_mean'),
    latents_std: numbersOrNull('latents_std'),
    force_upcast: bool('force_upcast'),
    use_quant_conv: bool('use_quant_conv'),
    use_post_quant_conv: bool('use_post_quant_conv'),
    mid_block_add_attention: bool('mid_block_add_attention'),
  };
  checkVaeSizes(config, bad);
  return config;
}

/** Cross-field checks: the resnet count is bounded, and norm_num_groups divides every block width. */
function checkVaeSizes(config: AutoencoderKLConfig, bad: (field: string, value: unknown, expected: string) => never): void {
  const blockOut = config.block_out_channels;
  // The encoder/decoder module trees are built before weights are read: bound their size against hostile counts
  // (the SD/SDXL VAE has 4 levels of 2-3 resnets).
  const resnets = blockOut.length * (2 * config.layers_per_block + 1);
  if (resnets > MAX_VAE_RESNETS) bad('layers_per_block', config.layers_per_block, `a count giving at most ${MAX_VAE_RESNETS} resnets over ${blockOut.length} levels`);
  // Every GroupNorm in the encoder/decoder normalises a block_out_channels width.
  blockOut.forEach((c, i) => {
    if (c % config.norm_num_groups !== 0) {
      bad('norm_num_groups', config.norm_num_groups, `a divisor of every block_out_channels entry (block_out_channels[${i}] = ${c})`);
    }
  });
}

/** How many pixels one latent cell spans per side: 2^(len(block_out_channels) − 1) (8 for SD/SDXL). */
export function vaeScaleFactor(config: Pick<AutoencoderKLConfig, 'block_out_channels'>): number {
  return 2 ** (config.block_out_channels.length - 1);
}

