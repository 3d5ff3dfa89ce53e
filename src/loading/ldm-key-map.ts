/**
 * Key maps between the one-file LDM (SD1/SD2) and SGM (SDXL) checkpoint layout of A1111/ComfyUI and diffusers'
 * state-dict keys, as diffusers v0.27.2 `loaders/single_file_utils.py` converts them (`convert_ldm_unet_checkpoint`,
 * `convert_ldm_vae_checkpoint`, `create_text_encoder_from_ldm_clip_checkpoint`,
 * `create_text_encoder_from_open_clip_checkpoint`), generalised to any number of levels and blocks
 * (test/fixtures/MODEL-FILES-README.md §9.2). Each function maps one diffusers key to the checkpoint key holding its data and how
 * the data must be read (`transform`), so every map is generated from the model's own parameter list.
 */

/** How a diffusers tensor is read from the checkpoint tensor (names as in oracle/single-file/*.keymap.json). */
export type KeyTransform =
  | { readonly kind: 'copy' }
  /** A 1×1 conv weight [C,C,1,1] read as a Linear weight [C,C] (same bytes). */
  | { readonly kind: 'conv1x1_to_linear' }
  /** A 2-D tensor stored transposed (OpenCLIP's `text_projection`, used as `x @ P`). */
  | { readonly kind: 'transpose' }
  /** Rows [start, end) of OpenCLIP's fused `in_proj_weight` [3h, h] / `in_proj_bias` [3h]. */
  | { readonly kind: 'in_proj_rows'; readonly start: number; readonly end: number };

/** Where a diffusers key's data is in the checkpoint. */
export interface CheckpointKey {
  readonly key: string;
  readonly transform: KeyTransform;
}

const COPY: KeyTransform = { kind: 'copy' };

/** The layout facts of a UNet config the LDM block numbering depends on. */
export interface UNetLayout {
  /** `layers_per_block` (the same for every level here, as in SD/SDXL). */
  readonly layersPerBlock: number;
  /** Per up block: does it have attentions (`CrossAttnUpBlock2D`)? Shifts the upsampler's index. */
  readonly upBlockHasAttentions: readonly boolean[];
}

/** The layout of a parsed UNet config (layers_per_block must be the same on every level, as in SD/SDXL). */
export function unetLayoutOf(config: { readonly layers_per_block: readonly number[]; readonly up_block_types: readonly string[] }): UNetLayout {
  return { layersPerBlock: config.layers_per_block[0]!, upBlockHasAttentions: config.up_block_types.map((t) => t === 'CrossAttnUpBlock2D') };
}

const UNET_RESNET: Record<string, string> = {
  norm1: 'in_layers.0', conv1: 'in_layers.2', time_emb_proj: 'emb_layers.1',
  norm2: 'out_layers.0', conv2: 'out_layers.3', conv_shortcut: 'skip_connection',
};

function unetResnet(rest: string): string {
  const dot = rest.indexOf('.');
  const head = rest.slice(0, dot);
  return `${UNET_RESNET[head] ?? head}${rest.slice(dot)}`;
}

/** The LDM key (without `model.diffusion_model.`) of a diffusers UNet key; undefined when it has none. */
export function ldmUNetKey(key: string, layout: UNetLayout): string | undefined {
  const L1 = layout.layersPerBlock + 1;
  let m: RegExpExecArray | null;
  if ((m = /^time_embedding\.linear_([12])\.(.+)$/.exec(key))) return `time_embed.${m[1] === '1' ? 0 : 2}.${m[2]}`;
  if ((m = /^add_embedding\.linear_([12])\.(.+)$/.exec(key))) return `label_emb.0.${m[1] === '1' ? 0 : 2}.${m[2]}`;
  if ((m = /^conv_in\.(.+)$/.exec(key))) return `input_blocks.0.0.${m[1]}`;
  if ((m = /^conv_norm_out\.(.+)$/.exec(key))) return `out.0.${m[1]}`;
  if ((m = /^conv_out\.(.+)$/.exec(key))) return `out.2.${m[1]}`;
  if ((m = /^down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/.exec(key))) return `input_blocks.${L1 * +m[1]! + +m[2]! + 1}.0.${unetResnet(m[3]!)}`;
  if ((m = /^down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$/.exec(key))) return `input_blocks.${L1 * +m[1]! + +m[2]! + 1}.1.${m[3]}`;
  if ((m = /^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(key))) return `input_blocks.${L1 * (+m[1]! + 1)}.0.op.${m[2]}`;
  if ((m = /^mid_block\.resnets\.([01])\.(.+)$/.exec(key))) return `middle_block.${m[1] === '0' ? 0 : 2}.${unetResnet(m[2]!)}`;
  if ((m = /^mid_block\.attentions\.0\.(.+)$/.exec(key))) return `middle_block.1.${m[1]}`;
  if ((m = /^up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/.exec(key))) return `output_blocks.${L1 * +m[1]! + +m[2]!}.0.${unetResnet(m[3]!)}`;
  if ((m = /^up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)$/.exec(key))) return `output_blocks.${L1 * +m[1]! + +m[2]!}.1.${m[3]}`;
  if ((m = /^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/.exec(key))) {
    const i = +m[1]!;
    return `output_blocks.${L1 * i + layout.layersPerBlock}.${layout.upBlockHasAttentions[i] ? 2 : 1}.conv.${m[2]}`;
  }
  return undefined;
}

const VAE_ATTENTION: Record<string, string> = { group_norm: 'norm', to_q: 'q', to_k: 'k', to_v: 'v', 'to_out.0': 'proj_out' };

function vaeResnet(rest: string): string {
  return rest.replace(/^conv_shortcut\./, 'nin_shortcut.');
}

/**
 * The LDM key (without `first_stage_model.`) of a diffusers AutoencoderKL key, for a VAE with `levels` blocks:
 * the decoder's up blocks are numbered in reverse (`decoder.up.{levels-1-i}`), attention weights are 1×1 convs.
 */
export function ldmVaeKey(key: string, levels: number): CheckpointKey | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/.exec(key))) return { key: `encoder.down.${m[1]}.block.${m[2]}.${vaeResnet(m[3]!)}`, transform: COPY };
  if ((m = /^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(key))) return { key: `encoder.down.${m[1]}.downsample.conv.${m[2]}`, transform: COPY };
  if ((m = /^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/.exec(key))) return { key: `decoder.up.${levels - 1 - +m[1]!}.block.${m[2]}.${vaeResnet(m[3]!)}`, transform: COPY };
  if ((m = /^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/.exec(key))) return { key: `decoder.up.${levels - 1 - +m[1]!}.upsample.conv.${m[2]}`, transform: COPY };
  if ((m = /^(encoder|decoder)\.mid_block\.resnets\.([01])\.(.+)$/.exec(key))) return { key: `${m[1]}.mid.block_${+m[2]! + 1}.${vaeResnet(m[3]!)}`, transform: COPY };
  if ((m = /^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(key))) {
    const conv = m[2] !== 'group_norm' && m[3] === 'weight';
    return { key: `${m[1]}.mid.attn_1.${VAE_ATTENTION[m[2]!]}.${m[3]}`, transform: conv ? { kind: 'conv1x1_to_linear' } : COPY };
  }
  if ((m = /^(encoder|decoder)\.conv_norm_out\.(.+)$/.exec(key))) return { key: `${m[1]}.norm_out.${m[2]}`, transform: COPY };
  if (/^(encoder\.conv_in|encoder\.conv_out|decoder\.conv_in|decoder\.conv_out|quant_conv|post_quant_conv)\./.test(key)) return { key, transform: COPY };
  return undefined;
}

const OPEN_CLIP_LAYER: Record<string, string> = {
  layer_norm1: 'ln_1', layer_norm2: 'ln_2', 'self_attn.out_proj': 'attn.out_proj', 'mlp.fc1': 'mlp.c_fc', 'mlp.fc2': 'mlp.c_proj',
};

/**
 * The OpenCLIP key (without its prefix, e.g. `conditioner.embedders.1.model.`) of a Hugging Face CLIPTextModel(WithProjection)
 * key. `hidden` is the width the fused in_proj is split by.
 */
export function openClipKey(key: string, hidden: number): CheckpointKey | undefined {
  let m: RegExpExecArray | null;
  if (key === 'text_model.embeddings.token_embedding.weight') return { key: 'token_embedding.weight', transform: COPY };
  if (key === 'text_model.embeddings.position_embedding.weight') return { key: 'positional_embedding', transform: COPY };
  if ((m = /^text_model\.final_layer_norm\.(weight|bias)$/.exec(key))) return { key: `ln_final.${m[1]}`, transform: COPY };
  if (key === 'text_projection.weight') return { key: 'text_projection', transform: { kind: 'transpose' } };
  if ((m = /^text_model\.encoder\.layers\.(\d+)\.self_attn\.([qkv])_proj\.(weight|bias)$/.exec(key))) {
    const part = 'qkv'.indexOf(m[2]!);
    return { key: `transformer.resblocks.${m[1]}.attn.in_proj_${m[3]}`, transform: { kind: 'in_proj_rows', start: part * hidden, end: (part + 1) * hidden } };
  }
  if ((m = /^text_model\.encoder\.layers\.(\d+)\.(layer_norm1|layer_norm2|self_attn\.out_proj|mlp\.fc1|mlp\.fc2)\.(weight|bias)$/.exec(key))) {
    return { key: `transformer.resblocks.${m[1]}.${OPEN_CLIP_LAYER[m[2]!]}.${m[3]}`, transform: COPY };
  }
  return undefined;
}

/** Prefixes of the components in the one-file layouts. */
export const CHECKPOINT_PREFIX = {
  unet: 'model.diffusion_model.',
  vae: 'first_stage_model.',
  clipL: ['cond_stage_model.transformer.', 'conditioner.embedders.0.transformer.'],
  openClipSd2: 'cond_stage_model.model.',
  openClipSdxl: 'conditioner.embedders.1.model.',
  openClipRefiner: 'conditioner.embedders.0.model.',
} as const;
