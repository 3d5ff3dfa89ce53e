/**
 * The VAE-only blocks of diffusers v0.27 `unets/unet_2d_blocks.py` — DownEncoderBlock2D, UpDecoderBlock2D and
 * UNetMidBlock2D with its one attention — plus the VAE's spatial self-attention (attention_processor.py
 * `Attention` built with `_from_deprecated_attn_block=True`: group_norm, one head over all channels,
 * residual connection, rescale_output_factor). Built from the UNet's shared pieces (resnet.ts ResnetBlock2D
 * without time embedding, Downsample2D with padding 0, attention.ts Attention); only what is VAE-specific
 * lives here. Property names are the state-dict segments.
 */
import type { GraphBuilder, Value } from '../graph/builder.js';
import { Module, ModuleList } from '../graph/module.js';
import { GroupNorm } from '../graph/nn.js';
import { add, div, reshape, scalar, transpose, upsampleNearest2x } from '../graph/ops.js';
import type { ActivationName } from './activations.js';
import { Attention, type AttentionContext } from './attention.js';
import { Downsample2D, ResnetBlock2D, Upsample2D } from './resnet.js';

/** Settings every VAE block shares (diffusers passes them down from the Encoder/Decoder). */
export interface VaeBlockOptions {
  readonly groups: number;
  readonly eps: number;
  readonly act: ActivationName;
}

function resnet(inChannels: number, outChannels: number, o: VaeBlockOptions): ResnetBlock2D {
  return new ResnetBlock2D({ inChannels, outChannels, tembChannels: null, groups: o.groups, eps: o.eps, actFn: o.act });
}

/**
 * The VAE mid-block attention: heads = C / attention_head_dim with attention_head_dim = C, so one head of
 * size C over the H·W positions; group norm first, residual added, divided by rescale_output_factor.
 */
export class VaeAttention extends Attention {
  readonly group_norm: GroupNorm;
  constructor(readonly channels: number, groups: number, eps: number, readonly rescaleOutputFactor = 1) {
    super(channels, null, 1, channels, true, true);
    this.group_norm = new GroupNorm(groups, channels, eps);
  }

  /** x [B, C, H, W] → [B, C, H, W]. */
  forwardSpatial(ctx: AttentionContext, x: Value): Value {
    const g = ctx.g;
    const shape = g.op('Shape', [x]);
    // 1. norm, then tokens over the spatial positions
    const normed = this.group_norm.forward(g, x); // [B, C, H, W]
    const tokens = transpose(g, reshape(g, normed, [0, 0, -1]), [0, 2, 1]); // [B, HW, C]
    // 2. self-attention (scale 1/√C) and to_out
    const attn = this.forward(ctx, tokens, null); // [B, HW, C]
    // 3. back to NCHW, residual, rescale
    const back = reshape(g, transpose(g, attn, [0, 2, 1]), shape); // [B, C, H, W]
    const out = add(g, back, x);
    return this.rescaleOutputFactor === 1 ? out : div(g, out, scalar(g, this.rescaleOutputFactor));
  }
}

/** Upsample2D whose target is always twice the input (the decoder has no skip tensor to size it by). */
export class VaeUpsample2D extends Upsample2D {
  override forward(g: GraphBuilder, x: Value, sizeLike?: Value): Value {
    if (sizeLike) return super.forward(g, x, sizeLike);
    return this.conv.forward(g, upsampleNearest2x(g, x)); // [B, C, 2H, 2W]
  }
}

/** DownEncoderBlock2D: `numLayers` resnets, then a Downsample2D unless it is the last block. */
export class DownEncoderBlock2D extends Module {
  readonly resnets: ModuleList<ResnetBlock2D>;
  readonly downsamplers?: ModuleList<Downsample2D>;
  constructor(inChannels: number, outChannels: number, numLayers: number, addDownsample: boolean, opts: VaeBlockOptions) {
    super();
    this.resnets = new ModuleList(Array.from({ length: numLayers }, (_, i) => resnet(i === 0 ? inChannels : outChannels, outChannels, opts)));
    if (addDownsample) this.downsamplers = new ModuleList([new Downsample2D(outChannels, outChannels, 0)]);
  }

  forward(g: GraphBuilder, x: Value): Value {
    let h = x;
    this.resnets.items.forEach((r, i) => {
      h = g.scope(`resnets.${i}`, () => r.forward(g, h, null));
    });
    if (this.downsamplers) h = g.scope('downsamplers.0', () => this.downsamplers!.at(0).forward(g, h));
    return h;
  }
}

/** UpDecoderBlock2D: `numLayers` resnets, then an Upsample2D unless it is the last block. */
export class UpDecoderBlock2D extends Module {
  readonly resnets: ModuleList<ResnetBlock2D>;
  readonly upsamplers?: ModuleList<VaeUpsample2D>;
  constructor(inChannels: number, outChannels: number, numLayers: number, addUpsample: boolean, opts: VaeBlockOptions) {
    super();
    this.resnets = new ModuleList(Array.from({ length: numLayers }, (_, i) => resnet(i === 0 ? inChannels : outChannels, outChannels, opts)));
    if (addUpsample) this.upsamplers = new ModuleList([new VaeUpsample2D(outChannels, outChannels)]);
  }

  forward(g: GraphBuilder, x: Value): Value {
    let h = x;
    this.resnets.items.forEach((r, i) => {
      h = g.scope(`resnets.${i}`, () => r.forward(g, h, null));
    });
    if (this.upsamplers) h = g.scope('upsamplers.0', () => this.upsamplers!.at(0).forward(g, h));
    return h;
  }
}

/** UNetMidBlock2D with num_layers=1 and no temb: resnet, (attention, resnet). */
export class UNetMidBlock2D extends Module {
  readonly attentions?: ModuleList<VaeAttention>;
  readonly resnets: ModuleList<ResnetBlock2D>;
  constructor(channels: number, addAttention: boolean, opts: VaeBlockOptions) {
    super();
    if (addAttention) this.attentions = new ModuleList([new VaeAttention(channels, opts.groups, opts.eps)]);
    this.resnets = new ModuleList([resnet(channels, channels, opts), resnet(channels, channels, opts)]);
  }

  forward(ctx: AttentionContext, x: Value): Value {
    const g = ctx.g;
    let h = g.scope('resnets.0', () => this.resnets.at(0).forward(g, x, null));
    if (this.attentions) h = g.scope('attentions.0', () => this.attentions!.at(0).forwardSpatial(ctx, h));
    return g.scope('resnets.1', () => this.resnets.at(1).forward(g, h, null));
  }
}
