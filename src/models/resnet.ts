/**
 * ResNet pieces of diffusers v0.27 `models/resnet.py` and `models/upsampling.py`/`downsampling.py`:
 * ResnetBlock2D (time_embedding_norm "default" or "scale_shift"), Downsample2D and Upsample2D, both with
 * their convolution (use_conv=True, as every UNet2DConditionModel block creates them).
 */
import type { GraphBuilder, Value } from '../graph/builder.js';
import { Module } from '../graph/module.js';
import { Conv2d, GroupNorm, Linear } from '../graph/nn.js';
import { add, concat, div, mul, reshape, scalar, slice } from '../graph/ops.js';
import { activation, type ActivationName } from './activations.js';

export interface ResnetBlock2DOptions {
  readonly inChannels: number;
  readonly outChannels?: number;
  readonly tembChannels: number | null;
  readonly groups: number;
  readonly groupsOut?: number;
  readonly eps: number;
  readonly actFn: ActivationName;
  readonly timeEmbeddingNorm?: 'default' | 'scale_shift';
  readonly outputScaleFactor?: number;
}

/** diffusers `ResnetBlock2D` (dropout is identity at inference). */
export class ResnetBlock2D extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly time_emb_proj?: Linear;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly conv_shortcut?: Conv2d;
  declare private readonly opts: Required<Omit<ResnetBlock2DOptions, 'tembChannels'>> & { tembChannels: number | null };

  constructor(o: ResnetBlock2DOptions) {
    super();
    const out = o.outChannels ?? o.inChannels;
    const timeEmbeddingNorm = o.timeEmbeddingNorm ?? 'default';
    this.norm1 = new GroupNorm(o.groups, o.inChannels, o.eps);
    this.conv1 = new Conv2d(o.inChannels, out, 3, { padding: 1 });
    if (o.tembChannels !== null) this.time_emb_proj = new Linear(o.tembChannels, timeEmbeddingNorm === 'scale_shift' ? 2 * out : out);
    this.norm2 = new GroupNorm(o.groupsOut ?? o.groups, out, o.eps);
    this.conv2 = new Conv2d(out, out, 3, { padding: 1 });
    if (o.inChannels !== out) this.conv_shortcut = new Conv2d(o.inChannels, out, 1);
    Object.defineProperty(this, 'opts', {
      enumerable: false,
      value: { ...o, outChannels: out, groupsOut: o.groupsOut ?? o.groups, timeEmbeddingNorm, outputScaleFactor: o.outputScaleFactor ?? 1 },
    });
  }

  /** x [B, Cin, H, W], temb [B, T] → [B, Cout, H, W]. */
  forward(g: GraphBuilder, x: Value, temb: Value | null): Value {
    const o = this.opts;
    // 1. norm → act → conv
    let h = this.norm1.forward(g, x);
    h = activation(g, o.actFn, h);
    h = this.conv1.forward(g, h); // [B, Cout, H, W]
    // 2. time embedding, projected per channel
    let t: Value | null = null;
    if (this.time_emb_proj && temb) {
      t = this.time_emb_proj.forward(g, activation(g, o.actFn, temb)); // [B, Cout] or [B, 2·Cout]
      t = reshape(g, t, [0, 0, 1, 1]);
      if (o.timeEmbeddingNorm === 'default') h = add(g, h, t);
    }
    h = this.norm2.forward(g, h);
    if (t && o.timeEmbeddingNorm === 'scale_shift') {
      const c = o.outChannels;
      const scale = slice(g, t, [0], [c], [1]); // [B, Cout, 1, 1]
      const shift = slice(g, t, [c], [2 * c], [1]);
      h = add(g, mul(g, h, add(g, scale, scalar(g, 1))), shift);
    }
    // 3. act → conv (dropout is identity)
    h = activation(g, o.actFn, h);
    h = this.conv2.forward(g, h);
    // 4. shortcut
    const skip = this.conv_shortcut ? this.conv_shortcut.forward(g, x) : x;
    const sum = add(g, skip, h);
    return o.outputScaleFactor === 1 ? sum : div(g, sum, scalar(g, o.outputScaleFactor));
  }
}

/** diffusers `Downsample2D(use_conv=True)`: a stride-2 3×3 conv. */
export class Downsample2D extends Module {
  readonly conv: Conv2d;
  constructor(channels: number, outChannels: number, readonly padding: number) {
    super();
    this.conv = new Conv2d(channels, outChannels, 3, { stride: 2, padding });
  }

  /** [B, C, H, W] → [B, Cout, ⌈H/2⌉, ⌈W/2⌉] (padding 1). */
  forward(g: GraphBuilder, x: Value): Value {
    if (this.padding !== 0) return this.conv.forward(g, x);
    // padding=0 means diffusers pads (0, 1, 0, 1) by hand: bottom and right only.
    const padded = g.op('Pad', [x, g.constant('int64', [8], [0, 0, 0, 0, 0, 0, 1, 1], 'pads')]);
    return this.conv.forward(g, padded);
  }
}

/** diffusers `Upsample2D(use_conv=True)`: nearest-neighbour upsampling, then a 3×3 conv. */
export class Upsample2D extends Module {
  readonly conv: Conv2d;
  constructor(channels: number, outChannels: number) {
    super();
    this.conv = new Conv2d(channels, outChannels, 3, { padding: 1 });
  }

  /**
   * [B, C, H, W] → [B, Cout, H', W'] where (H', W') is the spatial size of `sizeLike`. diffusers passes
   * that size only when the latent is not a multiple of 2^levels and otherwise doubles; the skip tensor's
   * size is exactly 2× in that case, so always resizing to it gives the same result for every size.
   */
  forward(g: GraphBuilder, x: Value, sizeLike: Value): Value {
    const bc = slice(g, g.op('Shape', [x]), [0], [2], [0]);
    const hw = slice(g, g.op('Shape', [sizeLike]), [2], [4], [0]);
    const sizes = concat(g, [bc, hw], 0);
    const up = g.op('Resize', [x, null, null, sizes], { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' });
    return this.conv.forward(g, up);
  }
}
