/**
 * The config.json of a diffusers UNet2DConditionModel (diffusers v0.27 `unets/unet_2d_condition.py`,
 * `__init__` defaults and `_check_config`), parsed and validated once. Keys are exactly config.json's;
 * omitted keys get diffusers' defaults. Per-level values (heads, cross-attention dim, layers) are also
 * resolved into lists the way `__init__` does, including the legacy quirk that `attention_head_dim` is
 * really the number of heads when `num_attention_heads` is absent (diffusers issue #2011).
 */

import { ConfigError, describeValue } from '../errors.js';
import { ACTIVATIONS, type ActivationName } from './activations.js';

export const DOWN_BLOCK_TYPES = ['DownBlock2D', 'CrossAttnDownBlock2D'] as const;
export const UP_BLOCK_TYPES = ['UpBlock2D', 'CrossAttnUpBlock2D'] as const;
export const MID_BLOCK_TYPES = ['UNetMidBlock2DCrossAttn', 'UNetMidBlock2D'] as const;
export type DownBlockType = (typeof DOWN_BLOCK_TYPES)[number];
export type UpBlockType = (typeof UP_BLOCK_TYPES)[number];
export type MidBlockType = (typeof MID_BLOCK_TYPES)[number];

/** Transformer depth of one level: one number for every layer, or one per layer. */
export type TransformerDepth = number | readonly number[];

/** UNet2DConditionModel config (the subset of keys this port reads; others are ignored). */
export interface UNet2DConditionConfig {
  readonly sample_size: number | null;
  readonly in_channels: number;
  readonly out_channels: number;
  readonly center_input_sample: boolean;
  readonly flip_sin_to_cos: boolean;
  readonly freq_shift: number;
  readonly down_block_types: readonly DownBlockType[];
  readonly mid_block_type: MidBlockType | null;
  readonly up_block_types: readonly UpBlockType[];
  readonly only_cross_attention: readonly boolean[];
  readonly mid_block_only_cross_attention: boolean;
  readonly block_out_channels: readonly number[];
  readonly layers_per_block: readonly number[];
  readonly downsample_padding: number;
  readonly mid_block_scale_factor: number;
  readonly act_fn: ActivationName;
  readonly norm_num_groups: number;
  readonly norm_eps: number;
  readonly cross_attention_dim: readonly number[];
  readonly transformer_layers_per_block: readonly TransformerDepth[];
  readonly reverse_transformer_layers_per_block: readonly TransformerDepth[] | null;
  /** As written in config.json, spread per level (may be null entries). */
  readonly attention_head_dim: readonly (number | null)[];
  /** Heads per level after diffusers' `num_attention_heads or attention_head_dim`. */
  readonly num_attention_heads: readonly number[];
  readonly use_linear_projection: boolean;
  readonly upcast_attention: boolean;
  readonly resnet_time_scale_shift: 'default' | 'scale_shift';
  readonly time_embedding_dim: number | null;
  readonly time_embedding_act_fn: ActivationName | null;
  readonly timestep_post_act: ActivationName | null;
  readonly conv_in_kernel: number;
  readonly conv_out_kernel: number;
  readonly addition_embed_type: 'text_time' | null;
  readonly addition_time_embed_dim: number | null;
  readonly projection_class_embeddings_input_dim: number | null;
}

type Json = Record<string, unknown>;

class Reader {
  constructor(readonly json: Json, readonly file: string) {}

  fail(key: string, value: unknown, expected: string): never {
    throw new ConfigError(`${this.file}: "${key}" is ${describeValue(value)}; expected ${expected}`);
  }

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  int(key: string, def: number, min = 0): number {
    const v = this.json[key] ?? def;
    if (!Number.isSafeInteger(v) || (v as number) < min) this.fail(key, v, `an integer >= ${min}`);
    return v as number;
  }

  intOrNull(key: string, min = 1): number | null {
    return this.has(key) ? this.int(key, 0, min) : null;
  }

  num(key: string, def: number): number {
    const v = this.json[key] ?? def;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, v, 'a finite number');
    return v;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.json[key] ?? def;
    if (typeof v !== 'boolean') this.fail(key, v, 'true or false');
    return v;
  }

  oneOf<T extends string>(key: string, def: T | null, allowed: readonly T[], what = ''): T | null {
    const v = this.json[key] === undefined ? def : this.json[key];
    if (v === null) return null;
    if (typeof v !== 'string' || !allowed.includes(v as T)) this.fail(key, v, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}${what}`);
    return v as T;
  }

  /** Scalar-or-list, spread to `n` levels like `(x,) * len(down_block_types)`. */
  perLevel<T>(key: string, def: unknown, n: number, item: (v: unknown, where: string) => T): T[] {
    const v = this.json[key] === undefined ? def : this.json[key];
    if (Array.isArray(v)) {
      if (v.length !== n) this.fail(key, v, `a list with one entry per down block (${n})`);
      return v.map((x, i) => item(x, `${key}[${i}]`));
    }
    const one = item(v, key);
    return Array.from({ length: n }, () => one);
  }
}

function positiveInt(r: Reader, v: unknown, where: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw new ConfigError(`${r.file}: "${where}" is ${describeValue(v)}; expected a positive integer`);
  return v as number;
}

function depth(r: Reader, v: unknown, where: string): TransformerDepth {
  if (Array.isArray(v)) return v.map((x, i) => positiveInt(r, x, `${where}[${i}]`));
  return positiveInt(r, v, where);
}

/** Keys of features this port does not implement: a non-default value is refused instead of ignored. */
const UNSUPPORTED: ReadonlyArray<[key: string, isDefault: (v: unknown) => boolean, what: string]> = [
  ['class_embed_type', (v) => v == null, 'null (class embeddings are not supported)'],
  ['num_class_embeds', (v) => v == null, 'null (class embeddings are not supported)'],
  ['class_embeddings_concat', (v) => v == null || v === false, 'false'],
  ['encoder_hid_dim', (v) => v == null, 'null (encoder_hid_proj is not supported)'],
  ['encoder_hid_dim_type', (v) => v == null, 'null (encoder_hid_proj is not supported)'],
  ['time_cond_proj_dim', (v) => v == null, 'null (timestep_cond is not supported)'],
  ['time_embedding_type', (v) => v == null || v === 'positional', '"positional"'],
  ['attention_type', (v) => v == null || v === 'default', '"default"'],
  ['dual_cross_attention', (v) => v == null || v === false, 'false'],
];

/** Most resnet + transformer blocks a config may describe (see the check in parseUNet2DConditionConfig). */
export const MAX_UNET_BLOCKS = 10_000;

/** A list of block type names, each one of `allowed`. */
function blockTypeList<T extends string>(r: Reader, key: string, def: readonly T[], allowed: readonly T[]): T[] {
  const v = r.json[key] ?? def;
  if (!Array.isArray(v) || v.length === 0) r.fail(key, v, 'a non-empty list of block type names');
  return (v as unknown[]).map((t, i) => {
    if (typeof t !== 'string' || !allowed.includes(t as T)) {
      throw new ConfigError(`${r.file}: unknown block type ${describeValue(t)} in ${key}[${i}]; supported: ${allowed.join(', ')}`);
    }
    return t as T;
  });
}

/** attention_head_dim per level, which diffusers v0.27 uses as the number of heads (#2011). */
function attentionHeads(r: Reader, n: number): { attention_head_dim: (number | null)[]; num_attention_heads: number[] } {
  if (r.has('num_attention_heads')) {
    // diffusers v0.27 raises here too: the key's meaning is reserved until the naming is fixed (#2011).
    r.fail('num_attention_heads', r.json.num_attention_heads, 'null (diffusers v0.27 refuses it; heads are given by attention_head_dim)');
  }
  const attention_head_dim = r.perLevel('attention_head_dim', 8, n, (v, w) => (v === null ? null : positiveInt(r, v, w)));
  const num_attention_heads = attention_head_dim.map((h, i) => {
    if (h === null) throw new ConfigError(`${r.file}: "attention_head_dim[${i}]" is null, so the number of heads is unknown`);
    return h;
  });
  return { attention_head_dim, num_attention_heads };
}

/** transformer_layers_per_block per level and, when given (required for nested lists), the up path's. */
function transformerDepths(r: Reader, n: number): { transformer_layers_per_block: TransformerDepth[]; reverse_transformer_layers_per_block: TransformerDepth[] | null } {
  const transformer_layers_per_block = r.perLevel('transformer_layers_per_block', 1, n, (v, w) => depth(r, v, w));
  let reverse_transformer_layers_per_block: TransformerDepth[] | null = null;
  if (r.has('reverse_transformer_layers_per_block')) {
    const v = r.json.reverse_transformer_layers_per_block;
    if (!Array.isArray(v) || v.length !== n) r.fail('reverse_transformer_layers_per_block', v, `a list with one entry per up block (${n})`);
    reverse_transformer_layers_per_block = (v as unknown[]).map((x, i) => depth(r, x, `reverse_transformer_layers_per_block[${i}]`));
  } else if (transformer_layers_per_block.some((d) => Array.isArray(d))) {
    r.fail('reverse_transformer_layers_per_block', null, 'a list when transformer_layers_per_block is a list of lists (as diffusers requires)');
  }
  return { transformer_layers_per_block, reverse_transformer_layers_per_block };
}

/** SDXL's text_time addition embedding and its two sizes (both required with it). */
function additionEmbedding(r: Reader): { addition_embed_type: 'text_time' | null; addition_time_embed_dim: number | null; projection_class_embeddings_input_dim: number | null } {
  const addition_embed_type = r.oneOf<'text_time'>('addition_embed_type', null, ['text_time'], ' or null (other addition embeddings are not supported)');
  const addition_time_embed_dim = r.intOrNull('addition_time_embed_dim');
  const projection_class_embeddings_input_dim = r.intOrNull('projection_class_embeddings_input_dim');
  if (addition_embed_type === 'text_time') {
    if (addition_time_embed_dim === null) r.fail('addition_time_embed_dim', null, 'a positive integer when addition_embed_type is "text_time"');
    if (projection_class_embeddings_input_dim === null) r.fail('projection_class_embeddings_input_dim', null, 'a positive integer when addition_embed_type is "text_time"');
  }
  return { addition_embed_type, addition_time_embed_dim, projection_class_embeddings_input_dim };
}

/**
 * The module tree is built from these counts before any weight is read, so a hostile config could ask for
 * millions of layers and exhaust memory; bound the total (SDXL's UNet has about 100 resnet/transformer blocks).
 */
function checkBlockCount(r: Reader, layers: readonly number[], depths: readonly TransformerDepth[], reverse: readonly TransformerDepth[] | null): void {
  const n = layers.length;
  const depthOf = (d: TransformerDepth | undefined): number => (d === undefined ? 0 : Array.isArray(d) ? d.reduce((a, b) => a + b, 0) : (d as number));
  let blocks = depthOf(depths[n - 1]) + 2;
  for (let i = 0; i < n; i++) {
    const up = reverse?.[i] ?? depths[n - 1 - i];
    blocks += layers[i]! * (1 + depthOf(depths[i])) + (layers[n - 1 - i]! + 1) * (1 + depthOf(up));
  }
  if (blocks > MAX_UNET_BLOCKS) {
    r.fail('layers_per_block', r.json.layers_per_block ?? 2, `counts that, with transformer_layers_per_block, give at most ${MAX_UNET_BLOCKS} resnet and transformer blocks (these give ${blocks})`);
  }
}

/** Parses and validates a UNet2DConditionModel config.json object; `file` is named in errors. */
export function parseUNet2DConditionConfig(json: unknown, file: string): UNet2DConditionConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${file}: not a JSON object`);
  const r = new Reader(json as Json, file);
  for (const [key, ok, what] of UNSUPPORTED) if (!ok(r.json[key])) r.fail(key, r.json[key], what);

  const blockList = <T extends string>(key: string, def: readonly T[], allowed: readonly T[]): T[] => blockTypeList(r, key, def, allowed);
  const down_block_types = blockList('down_block_types', ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'], DOWN_BLOCK_TYPES);
  const up_block_types = blockList('up_block_types', ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'], UP_BLOCK_TYPES);
  const n = down_block_types.length;
  if (up_block_types.length !== n) r.fail('up_block_types', r.json.up_block_types, `as many entries as down_block_types (${n})`);
  const mid_block_type = r.oneOf<MidBlockType>('mid_block_type', 'UNetMidBlock2DCrossAttn', MID_BLOCK_TYPES);

  const boc = r.json.block_out_channels ?? [320, 640, 1280, 1280];
  if (!Array.isArray(boc) || boc.length !== n) r.fail('block_out_channels', boc, `a list with one entry per down block (${n})`);
  const block_out_channels = (boc as unknown[]).map((v, i) => positiveInt(r, v, `block_out_channels[${i}]`));

  const { attention_head_dim, num_attention_heads } = attentionHeads(r, n);

  const onlyCross = r.json.only_cross_attention ?? false;
  const only_cross_attention = r.perLevel('only_cross_attention', false, n, (v, w): boolean => {
    if (typeof v !== 'boolean') r.fail(w, v, 'true or false');
    return v as boolean;
  });
  const midOnly = r.json.mid_block_only_cross_attention;
  const mid_block_only_cross_attention = midOnly == null ? (typeof onlyCross === 'boolean' ? onlyCross : false) : r.bool('mid_block_only_cross_attention', false);

  const { transformer_layers_per_block, reverse_transformer_layers_per_block } = transformerDepths(r, n);

  const act = (key: string, def: ActivationName | null): ActivationName | null => r.oneOf(key, def, ACTIVATIONS);
  const { addition_embed_type, addition_time_embed_dim, projection_class_embeddings_input_dim } = additionEmbedding(r);
  const norm_num_groups = r.int('norm_num_groups', 32, 1);
  for (const [i, c] of block_out_channels.entries()) {
    if (c % norm_num_groups !== 0) r.fail(`block_out_channels[${i}]`, c, `a multiple of norm_num_groups (${norm_num_groups})`);
  }
  const kernel = (key: string): number => {
    const k = r.int(key, 3, 1);
    if (k % 2 !== 1) r.fail(key, k, 'an odd kernel size');
    return k;
  };
  const layers_per_block = r.perLevel('layers_per_block', 2, n, (v, w) => positiveInt(r, v, w));
  checkBlockCount(r, layers_per_block, transformer_layers_per_block, reverse_transformer_layers_per_block);
  const sampleSize = r.json.sample_size;
  return {
    sample_size: sampleSize == null ? null : Array.isArray(sampleSize) ? positiveInt(r, sampleSize[0], 'sample_size[0]') : r.int('sample_size', 0, 1),
    in_channels: r.int('in_channels', 4, 1),
    out_channels: r.int('out_channels', 4, 1),
    center_input_sample: r.bool('center_input_sample', false),
    flip_sin_to_cos: r.bool('flip_sin_to_cos', true),
    freq_shift: r.num('freq_shift', 0),
    down_block_types,
    mid_block_type,
    up_block_types,
    only_cross_attention,
    mid_block_only_cross_attention,
    block_out_channels,
    layers_per_block,
    downsample_padding: r.int('downsample_padding', 1, 0),
    mid_block_scale_factor: r.num('mid_block_scale_factor', 1),
    act_fn: act('act_fn', 'silu')!,
    norm_num_groups,
    norm_eps: r.num('norm_eps', 1e-5),
    cross_attention_dim: r.perLevel('cross_attention_dim', 1280, n, (v, w) => positiveInt(r, v, w)),
    transformer_layers_per_block,
    reverse_transformer_layers_per_block,
    attention_head_dim,
    num_attention_heads,
    use_linear_projection: r.bool('use_linear_projection', false),
    upcast_attention: r.bool('upcast_attention', false),
    resnet_time_scale_shift: r.oneOf('resnet_time_scale_shift', 'default', ['default', 'scale_shift'] as const)!,
    time_embedding_dim: r.intOrNull('time_embedding_dim'),
    time_embedding_act_fn: act('time_embedding_act_fn', null),
    timestep_post_act: act('timestep_post_act', null),
    conv_in_kernel: kernel('conv_in_kernel'),
    conv_out_kernel: kernel('conv_out_kernel'),
    addition_embed_type,
    addition_time_embed_dim,
    projection_class_embeddings_input_dim,
  };
}

