/**
 * UNet configs the benchmarks build with random weights: SD1.5's and SDXL's unet/config.json as published
 * (runwayml/stable-diffusion-v1-5, stabilityai/stable-diffusion-xl-base-1.0), and the fixtures' tiny models
 * for quick dry runs. SDXL's text encoders and VAE for a whole random-weight model are in random-model.ts.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file compiles to dist/bench/unet-configs.js). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** runwayml/stable-diffusion-v1-5 unet/config.json. */
export const SD15_UNET_CONFIG = {
  _class_name: 'UNet2DConditionModel',
  _diffusers_version: '0.6.0',
  act_fn: 'silu',
  attention_head_dim: 8,
  block_out_channels: [320, 640, 1280, 1280],
  center_input_sample: false,
  cross_attention_dim: 768,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  downsample_padding: 1,
  flip_sin_to_cos: true,
  freq_shift: 0,
  in_channels: 4,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  norm_eps: 1e-5,
  norm_num_groups: 32,
  out_channels: 4,
  sample_size: 64,
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
};

/** stabilityai/stable-diffusion-xl-base-1.0 unet/config.json (diffusers 0.19.0.dev0). */
export const SDXL_UNET_CONFIG = {
  _class_name: 'UNet2DConditionModel',
  _diffusers_version: '0.19.0.dev0',
  act_fn: 'silu',
  addition_embed_type: 'text_time',
  addition_embed_type_num_heads: 64,
  addition_time_embed_dim: 256,
  attention_head_dim: [5, 10, 20],
  block_out_channels: [320, 640, 1280],
  center_input_sample: false,
  class_embed_type: null,
  class_embeddings_concat: false,
  conv_in_kernel: 3,
  conv_out_kernel: 3,
  cross_attention_dim: 2048,
  cross_attention_norm: null,
  down_block_types: ['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
  downsample_padding: 1,
  dual_cross_attention: false,
  encoder_hid_dim: null,
  encoder_hid_dim_type: null,
  flip_sin_to_cos: true,
  freq_shift: 0,
  in_channels: 4,
  layers_per_block: 2,
  mid_block_only_cross_attention: null,
  mid_block_scale_factor: 1,
  mid_block_type: 'UNetMidBlock2DCrossAttn',
  norm_eps: 1e-5,
  norm_num_groups: 32,
  num_attention_heads: null,
  num_class_embeds: null,
  only_cross_attention: false,
  out_channels: 4,
  projection_class_embeddings_input_dim: 2816,
  resnet_out_scale_factor: 1.0,
  resnet_skip_time_act: false,
  resnet_time_scale_shift: 'default',
  sample_size: 128,
  time_cond_proj_dim: null,
  time_embedding_act_fn: null,
  time_embedding_dim: null,
  time_embedding_type: 'positional',
  timestep_post_act: null,
  transformer_layers_per_block: [1, 2, 10],
  up_block_types: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'],
  upcast_attention: null,
  use_linear_projection: true,
};

export const UNET_SIZES = ['sd15', 'sdxl', 'tiny-sd', 'tiny-sdxl'] as const;
export type UNetSize = (typeof UNET_SIZES)[number];

/** The unet/config.json object for a size name (the tiny ones are read from test/fixtures/models). */
export function unetConfigJson(size: UNetSize): Record<string, unknown> {
  if (size === 'sd15') return SD15_UNET_CONFIG;
  if (size === 'sdxl') return SDXL_UNET_CONFIG;
  return JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'models', size, 'unet', 'config.json'), 'utf8')) as Record<string, unknown>;
}
