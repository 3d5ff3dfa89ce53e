/**
 * The text-encoder config.json of a diffusers `text_encoder/` or `text_encoder_2/` folder: transformers'
 * `CLIPTextConfig` (models/clip/configuration_clip.py, v4.38), parsed and validated once. Omitted keys take
 * transformers' defaults; a full `CLIPConfig` (model_type "clip") contributes its `text_config`, as
 * `CLIPTextConfig.from_pretrained` does. `architectures` decides whether a `text_projection` exists.
 */

import { ConfigError, describeValue } from '../errors.js';

/** Activations CLIP text towers use: OpenAI CLIP quick_gelu, OpenCLIP (SD2, SDXL's bigG) exact gelu. */
export const CLIP_HIDDEN_ACTS = ['quick_gelu', 'gelu'] as const;
export type CLIPHiddenAct = (typeof CLIP_HIDDEN_ACTS)[number];

/** Model classes a text encoder folder may hold; the second has `text_projection`. */
export const CLIP_TEXT_ARCHITECTURES = ['CLIPTextModel', 'CLIPTextModelWithProjection'] as const;
export type CLIPTextArchitecture = (typeof CLIP_TEXT_ARCHITECTURES)[number];

export interface CLIPTextConfig {
  readonly architectures: readonly [CLIPTextArchitecture];
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly projection_dim: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly max_position_embeddings: number;
  readonly hidden_act: CLIPHiddenAct;
  readonly layer_norm_eps: number;
  readonly bos_token_id: number;
  readonly eos_token_id: number;
  readonly pad_token_id: number;
}

/** transformers' CLIPTextConfig.__init__ defaults (openai/clip-vit-base-patch32). */
const DEFAULTS: Omit<CLIPTextConfig, 'architectures'> = {
  vocab_size: 49408,
  hidden_size: 512,
  intermediate_size: 2048,
  projection_dim: 512,
  num_hidden_layers: 12,
  num_attention_heads: 8,
  max_position_embeddings: 77,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
  bos_token_id: 49406,
  eos_token_id: 49407,
  pad_token_id: 1,
};

/** Most encoder layers a text encoder config may describe. */
export const MAX_CLIP_LAYERS = 1000;

export interface ParseCLIPTextConfigOptions {
  /**
   * The class model_index.json names for this component (e.g. "CLIPTextModelWithProjection"). diffusers
   * instantiates that class whatever config.json says, so it wins over `architectures`.
   */
  readonly architecture?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates and fills a parsed config.json; `file` is named in every error. */
export function parseCLIPTextConfig(json: unknown, file: string, options: ParseCLIPTextConfigOptions = {}): CLIPTextConfig {
  if (!isRecord(json)) throw new ConfigError(`${file}: expected a JSON object`);
  let src = json;
  let where = '';
  if (json.model_type === 'clip') {
    if (!isRecord(json.text_config)) throw new ConfigError(`${file}: model_type "clip" config has no "text_config" object`);
    src = json.text_config;
    where = 'text_config.';
  }

  const bad = (field: string, value: unknown, expected: string): never => {
    throw new ConfigError(`${file}: ${where}${field} is ${describeValue(value)}, expected ${expected}`);
  };
  const int = (field: keyof typeof DEFAULTS, min: number): number => {
    const v = src[field] ?? DEFAULTS[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad(field, v, `an integer >= ${min}`);
    return v as number;
  };

  const hiddenAct = src.hidden_act ?? DEFAULTS.hidden_act;
  if (!(CLIP_HIDDEN_ACTS as readonly unknown[]).includes(hiddenAct)) bad('hidden_act', hiddenAct, `one of ${CLIP_HIDDEN_ACTS.join(', ')}`);

  const eps = src.layer_norm_eps ?? DEFAULTS.layer_norm_eps;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0) bad('layer_norm_eps', eps, 'a positive number');

  let architecture: unknown = options.architecture;
  if (architecture === undefined) {
    const archs = json.architectures;
    if (archs === undefined) architecture = 'CLIPTextModel';
    else if (!Array.isArray(archs) || archs.length !== 1) bad('architectures', archs, 'a list with one class name');
    else architecture = archs[0];
  }
  if (!(CLIP_TEXT_ARCHITECTURES as readonly unknown[]).includes(architecture)) {
    throw new ConfigError(`${file}: architecture ${describeValue(architecture)} is not a CLIP text encoder, expected one of ${CLIP_TEXT_ARCHITECTURES.join(', ')}`);
  }

  const config: CLIPTextConfig = {
    architectures: [architecture as CLIPTextArchitecture],
    vocab_size: int('vocab_size', 1),
    hidden_size: int('hidden_size', 1),
    intermediate_size: int('intermediate_size', 1),
    projection_dim: int('projection_dim', 1),
    num_hidden_layers: int('num_hidden_layers', 1),
    num_attention_heads: int('num_attention_heads', 1),
    max_position_embeddings: int('max_position_embeddings', 1),
    hidden_act: hiddenAct as CLIPHiddenAct,
    layer_norm_eps: eps as number,
    bos_token_id: int('bos_token_id', 0),
    eos_token_id: int('eos_token_id', 0),
    pad_token_id: int('pad_token_id', 0),
  };
  // Layers are built before weights are read; a hostile count must not exhaust memory (the largest CLIP has 48).
  if (config.num_hidden_layers > MAX_CLIP_LAYERS) bad('num_hidden_layers', config.num_hidden_layers, `at most ${MAX_CLIP_LAYERS}`);
  if (config.hidden_size % config.num_attention_heads !== 0) {
    bad('num_attention_heads', config.num_attention_heads, `a divisor of hidden_size ${config.hidden_size}`);
  }
  return config;
}

/** Whether the config describes CLIPTextModelWithProjection (pooled output → `text_projection` → text_embeds). */
export function hasTextProjection(config: CLIPTextConfig): boolean {
  return config.architectures[0] === 'CLIPTextModelWithProjection';
}

