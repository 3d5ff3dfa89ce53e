/**
 * The UNet blocks of diffusers v0.27 `unets/unet_2d_blocks.py` that UNet2DConditionModel configs use:
 * DownBlock2D, CrossAttnDownBlock2D, UNetMidBlock2DCrossAttn, UNetMidBlock2D (add_attention=False),
 * UpBlock2D, CrossAttnUpBlock2D, and the get_down_block / get_mid_block / get_up_block factories.
 */
import type { Value } from '../graph/builder.js';
import { Module, ModuleList } from '../graph/module.js';
import { concat } from '../graph/ops.js';
import type { ActivationName } from './activations.js';
import { Transformer2DModel, type AttentionContext } from './attention.js';
import { Downsample2D, ResnetBlock2D, Upsample2D } from './resnet.js';
import type { DownBlockType, MidBlockType, TransformerDepth, UpBlockType } from './unet-config.js';

/** What every block of one UNet shares (from the UNet config). */
export interface BlockCommon {
  readonly tembChannels: number;
  readonly resnetEps: number;
  readonly resnetActFn: ActivationName;
  readonly resnetGroups: number;
  readonly resnetTimeScaleShift: 'default' | 'scale_shift';
  readonly useLinearProjection: boolean;
}

/** Per-level arguments of get_down_block / get_up_block. */
export interface LevelArgs {
  readonly numLayers: number;
  readonly transformerLayersPerBlock: TransformerDepth;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly crossAttentionDim: number;
  readonly numAttentionHeads: number;
  readonly onlyCrossAttention: boolean;
}

/** Depth of the transformer in layer i: CrossAttn blocks spread an int over every layer. */
function depthAt(d: TransformerDepth, i: number): number {
  return typeof d === 'number' ? d : d[i] ?? d[d.length - 1]!;
}

/** The forward state a block needs besides its input. */
export interface BlockInputs {
  readonly ctx: AttentionContext;
  readonly temb: Value;
  readonly encoderHiddenStates: Value;
}

function resnet(c: BlockCommon, inChannels: number, outChannels: number, outputScaleFactor = 1): ResnetBlock2D {
  return new ResnetBlock2D({
    inChannels,
    outChannels,
    tembChannels: c.tembChannels,
    groups: c.resnetGroups,
    eps: c.resnetEps,
    actFn: c.resnetActFn,
    timeEmbeddingNorm: c.resnetTimeScaleShift,
    outputScaleFactor,
  });
}

function transformer(c: BlockCommon, a: LevelArgs, channels: number, layer: number): Transformer2DModel {
  return new Transformer2DModel({
    heads: a.numAttentionHeads,
    dimHead: Math.floor(channels / a.numAttentionHeads),
    inChannels: channels,
    numLayers: depthAt(a.transformerLayersPerBlock, layer),
    crossAttentionDim: a.crossAttentionDim,
    normNumGroups: c.resnetGroups,
    useLinearProjection: c.useLinearProjection,
    onlyCrossAttention: a.onlyCrossAttention,
  });
}

/** A down block: its output and the skip tensors it hands to the up path (one per layer, plus the downsampled one). */
export interface DownOutput {
  readonly hidden: Value;
  readonly skips: Value[];
}

/** diffusers `DownBlock2D` and `CrossAttnDownBlock2D` (attentions present iff cross-attention). */
export class DownBlock extends Module {
  readonly attentions?: ModuleList<Transformer2DModel>;
  readonly resnets: ModuleList<ResnetBlock2D>;
  readonly downsamplers?: ModuleList<Downsample2D>;

  constructor(readonly type: DownBlockType, c: BlockCommon, a: LevelArgs, addDownsample: boolean, downsamplePadding: number) {
    super();
    const n = a.numLayers;
    if (type === 'CrossAttnDownBlock2D') this.attentions = new ModuleList(Array.from({ length: n }, (_, i) => transformer(c, a, a.outChannels, i)));
    this.resnets = new ModuleList(Array.from({ length: n }, (_, i) => resnet(c, i === 0 ? a.inChannels : a.outChannels, a.outChannels)));
    if (addDownsample) this.downsamplers = new ModuleList([new Downsample2D(a.outChannels, a.outChannels, downsamplePadding)]);
  }

  /** [B, Cin, H, W] → [B, Cout, H/2, W/2] (or H, W for the last level). */
  forward(inp: BlockInputs, x: Value): DownOutput {
    const g = inp.ctx.g;
    const skips: Value[] = [];
    let h = x;
    this.resnets.items.forEach((r, i) => {
      h = g.scope(`resnets.${i}`, () => r.forward(g, h, inp.temb));
      const attn = this.attentions?.at(i);
      if (attn) h = g.scope(`attentions.${i}`, () => attn.forward(inp.ctx, h, inp.encoderHiddenStates));
      skips.push(h);
    });
    const down = this.downsamplers?.at(0);
    if (down) {
      h = g.scope('downsamplers.0', () => down.forward(g, h));
      skips.push(h);
    }
    return { hidden: h, skips };
  }
}

/** diffusers `UNetMidBlock2DCrossAttn` (resnet, then attention+resnet per layer) and `UNetMidBlock2D` with add_attention=False, num_layers=0. */
export class MidBlock extends Module {
  readonly attentions?: ModuleList<Transformer2DModel>;
  readonly resnets: ModuleList<ResnetBlock2D>;

  constructor(readonly type: MidBlockType, c: BlockCommon, a: Omit<LevelArgs, 'outChannels' | 'numLayers' | 'onlyCrossAttention'>, outputScaleFactor: number) {
    super();
    const layers = type === 'UNetMidBlock2DCrossAttn' ? 1 : 0;
    const ch = a.inChannels;
    const args: LevelArgs = { ...a, outChannels: ch, numLayers: layers, onlyCrossAttention: false };
    if (type === 'UNetMidBlock2DCrossAttn') this.attentions = new ModuleList(Array.from({ length: layers }, (_, i) => transformer(c, args, ch, i)));
    this.resnets = new ModuleList(Array.from({ length: layers + 1 }, () => resnet(c, ch, ch, outputScaleFactor)));
  }

  /** [B, C, H, W] → [B, C, H, W]. */
  forward(inp: BlockInputs, x: Value): Value {
    const g = inp.ctx.g;
    let h = g.scope('resnets.0', () => this.resnets.at(0).forward(g, x, inp.temb));
    for (let i = 1; i < this.resnets.length; i++) {
      const attn = this.attentions?.at(i - 1);
      if (attn) h = g.scope(`attentions.${i - 1}`, () => attn.forward(inp.ctx, h, inp.encoderHiddenStates));
      h = g.scope(`resnets.${i}`, () => this.resnets.at(i).forward(g, h, inp.temb));
    }
    return h;
  }
}

/** diffusers `UpBlock2D` and `CrossAttnUpBlock2D`. */
export class UpBlock extends Module {
  readonly attentions?: ModuleList<Transformer2DModel>;
  readonly resnets: ModuleList<ResnetBlock2D>;
  readonly upsamplers?: ModuleList<Upsample2D>;

  constructor(readonly type: UpBlockType, c: BlockCommon, a: LevelArgs & { prevOutputChannel: number }, addUpsample: boolean) {
    super();
    const n = a.numLayers;
    if (type === 'CrossAttnUpBlock2D') this.attentions = new ModuleList(Array.from({ length: n }, (_, i) => transformer(c, a, a.outChannels, i)));
    this.resnets = new ModuleList(
      Array.from({ length: n }, (_, i) => {
        const skipChannels = i === n - 1 ? a.inChannels : a.outChannels;
        const resnetIn = i === 0 ? a.prevOutputChannel : a.outChannels;
        return resnet(c, resnetIn + skipChannels, a.outChannels);
      }),
    );
    if (addUpsample) this.upsamplers = new ModuleList([new Upsample2D(a.outChannels, a.outChannels)]);
  }

  /**
   * x [B, Cprev, H, W] with `skips` (the last numLayers down-path tensors, consumed from the end) →
   * [B, Cout, H', W'], upsampled to the spatial size of `upsampleTo` when this block upsamples.
   */
  forward(inp: BlockInputs, x: Value, skips: readonly Value[], upsampleTo: Value | null): Value {
    const g = inp.ctx.g;
    let h = x;
    const pending = [...skips];
    this.resnets.items.forEach((r, i) => {
      const skip = pending.pop()!;
      h = concat(g, [h, skip], 1); // [B, C + Cskip, H, W]
      h = g.scope(`resnets.${i}`, () => r.forward(g, h, inp.temb));
      const attn = this.attentions?.at(i);
      if (attn) h = g.scope(`attentions.${i}`, () => attn.forward(inp.ctx, h, inp.encoderHiddenStates));
    });
    const up = this.upsamplers?.at(0);
    if (up) {
      if (!upsampleTo) throw new Error('UpBlock: an upsampling block needs the size to upsample to');
      h = g.scope('upsamplers.0', () => up.forward(g, h, upsampleTo));
    }
    return h;
  }
}
