/**
 * Attention parts of diffusers v0.27: `Attention` with the plain `AttnProcessor` (attention_processor.py;
 * scale = dim_head^-0.5, to_out = [Linear, Dropout]), `GEGLU` and `FeedForward` (activations.py,
 * attention.py), `BasicTransformerBlock` (attention.py, norm_type "layer_norm") and the continuous-input
 * `Transformer2DModel` (transformers/transformer_2d.py, use_linear_projection true or false).
 *
 * Attention is computed either by onnxruntime's fused com.microsoft.MultiHeadAttention (CPU flash
 * attention: it never materialises the [B, heads, HW, HW] score tensor), or explicitly as
 * softmax(scale·QKᵀ)V, which is what capturing the probabilities needs. upcast_attention/upcast_softmax
 * only matter for half precision; this graph computes in float32, where they change nothing.
 */
import type { GraphBuilder, Value } from '../graph/builder.js';
import { float } from '../graph/builder.js';
import { Module, ModuleList } from '../graph/module.js';
import { Conv2d, GroupNorm, LayerNorm, Linear } from '../graph/nn.js';
import { add, concat, matmul, mul, reshape, scalar, slice, softmax, transpose, geluFused } from '../graph/ops.js';

/** How a forward pass computes attention and which cross-attention probabilities it records. */
export interface AttentionContext {
  readonly g: GraphBuilder;
  /** Use com.microsoft.MultiHeadAttention where no probabilities are captured. */
  readonly fused: boolean;
  /** Whether the attention at this module path records its head-averaged probabilities. */
  readonly capture: (path: string) => boolean;
  /** Recorded probabilities by module path, [B, queries, keys]. */
  readonly captured: Map<string, Value>;
  /**
   * Attn-SF (Jin et al., NeurIPS 2023): tokens at inference / tokens at training. When set (≠ 1),
   * self-attention logits are scaled by sqrt(log(N) / log(N / ratio)), N the layer's token count.
   */
  readonly selfAttentionTokenRatio?: number;
}

/** torch.nn.Dropout: identity at inference, no parameters; kept so list indices match the state dict. */
export class Dropout extends Module {}

/** diffusers `Attention` (no norms, no added kv), used as self- or cross-attention. */
export class Attention extends Module {
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly to_out: ModuleList<Linear | Dropout>;
  /** Module path in the UNet (set by the UNet after construction), e.g. "mid_block.attentions.0.transformer_blocks.0.attn2". */
  declare path: string;

  constructor(queryDim: number, crossAttentionDim: number | null, readonly heads: number, readonly dimHead: number, bias = false, outBias = true) {
    super();
    const inner = heads * dimHead;
    this.to_q = new Linear(queryDim, inner, bias);
    this.to_k = new Linear(crossAttentionDim ?? queryDim, inner, bias);
    this.to_v = new Linear(crossAttentionDim ?? queryDim, inner, bias);
    this.to_out = new ModuleList<Linear | Dropout>([new Linear(inner, queryDim, outBias), new Dropout()]);
    Object.defineProperty(this, 'path', { enumerable: false, writable: true, value: '' });
  }

  get scale(): number {
    return this.dimHead ** -0.5;
  }

  /** x [B, S, C], context [B, L, Cc] (null: self-attention) → [B, S, C]. */
  forward(ctx: AttentionContext, x: Value, context: Value | null): Value {
    const g = ctx.g;
    const kv = context ?? x;
    let q = this.to_q.forward(g, x); // [B, S, h·d]
    const ratio = ctx.selfAttentionTokenRatio;
    // Scaling q scales the logits by the same factor, and works for the fused op whose scale is an attribute.
    if (context === null && ratio !== undefined && ratio !== 1) q = mul(g, q, entropyScale(g, x, ratio));
    const k = this.to_k.forward(g, kv); // [B, L, h·d]
    const v = this.to_v.forward(g, kv); // [B, L, h·d]
    const capture = ctx.capture(this.path);
    let out: Value;
    if (ctx.fused && !capture) {
      out = g.op('MultiHeadAttention', [q, k, v], { num_heads: this.heads, scale: float(this.scale) }, 'com.microsoft'); // [B, S, h·d]
    } else {
      const h = this.heads;
      const d = this.dimHead;
      const qh = transpose(g, reshape(g, q, [0, 0, h, d]), [0, 2, 1, 3]); // [B, h, S, d]
      const kt = transpose(g, reshape(g, k, [0, 0, h, d]), [0, 2, 3, 1]); // [B, h, d, L]
      const vh = transpose(g, reshape(g, v, [0, 0, h, d]), [0, 2, 1, 3]); // [B, h, L, d]
      // baddbmm(beta=0, alpha=scale): scale applied to the product, as diffusers does.
      const probs = softmax(g, mul(g, matmul(g, qh, kt), scalar(g, this.scale)), -1); // [B, h, S, L]
      if (capture) ctx.captured.set(this.path, g.op('ReduceMean', [probs], { axes: [1], keepdims: 0 })); // [B, S, L]
      out = reshape(g, transpose(g, matmul(g, probs, vh), [0, 2, 1, 3]), [0, 0, h * d]); // [B, S, h·d]
    }
    return (this.to_out.at(0) as Linear).forward(g, out);
  }
}

/**
 * Attn-SF's factor sqrt(log_n N) for a layer with N = S tokens at inference and n = N / ratio at training
 * (the paper's scale sqrt(log_n N)/sqrt(d) is this times diffusers' 1/sqrt(d)). Computed from the token
 * count in the graph, so one graph serves every layer's resolution.
 */
function entropyScale(g: GraphBuilder, x: Value, ratio: number): Value {
  const n = g.op('Cast', [g.op('Gather', [g.op('Shape', [x]), g.constant('int64', [], [1], 'tokens_axis')], { axis: 0 })], { to: 1 }); // N
  const logN = g.op('Log', [n]);
  const logTrain = g.op('Log', [g.op('Div', [n, scalar(g, ratio)])]);
  return g.op('Sqrt', [g.op('Div', [logN, logTrain])]);
}

/** diffusers `GEGLU`: proj to 2·inner, hidden · gelu(gate). */
export class GEGLU extends Module {
  readonly proj: Linear;
  constructor(dimIn: number, readonly dimOut: number) {
    super();
    this.proj = new Linear(dimIn, dimOut * 2);
  }

  forward(g: GraphBuilder, x: Value): Value {
    const p = this.proj.forward(g, x); // [B, S, 2·inner]
    // Slices rather than Split: Split's num_outputs attribute needs opset 18.
    const hidden = slice(g, p, [0], [this.dimOut], [-1]); // [B, S, inner]
    const gate = slice(g, p, [this.dimOut], [2 * this.dimOut], [-1]);
    return mul(g, hidden, geluFused(g, gate));
  }
}

/** diffusers `FeedForward(activation_fn="geglu", mult=4)`: net = [GEGLU, Dropout, Linear]. */
export class FeedForward extends Module {
  readonly net: ModuleList<GEGLU | Dropout | Linear>;
  constructor(dim: number, mult = 4) {
    super();
    const inner = dim * mult;
    this.net = new ModuleList<GEGLU | Dropout | Linear>([new GEGLU(dim, inner), new Dropout(), new Linear(inner, dim)]);
  }

  forward(g: GraphBuilder, x: Value): Value {
    const h = (this.net.at(0) as GEGLU).forward(g, x);
    return (this.net.at(2) as Linear).forward(g, h);
  }
}

/** diffusers `BasicTransformerBlock` with layer norms, self-attention, cross-attention and GEGLU MLP. */
export class BasicTransformerBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn1: Attention;
  readonly norm2: LayerNorm;
  readonly attn2: Attention;
  readonly norm3: LayerNorm;
  readonly ff: FeedForward;

  constructor(dim: number, heads: number, dimHead: number, crossAttentionDim: number, readonly onlyCrossAttention = false) {
    super();
    this.norm1 = new LayerNorm(dim, 1e-5);
    this.attn1 = new Attention(dim, onlyCrossAttention ? crossAttentionDim : null, heads, dimHead);
    this.norm2 = new LayerNorm(dim, 1e-5);
    this.attn2 = new Attention(dim, crossAttentionDim, heads, dimHead);
    this.norm3 = new LayerNorm(dim, 1e-5);
    this.ff = new FeedForward(dim);
  }

  /** x [B, S, C], encoderHiddenStates [B, L, Cc] → [B, S, C]. */
  forward(ctx: AttentionContext, x: Value, encoderHiddenStates: Value): Value {
    const g = ctx.g;
    // 1. self-attention (cross-attention when only_cross_attention)
    let h = add(g, g.scope('attn1', () => this.attn1.forward(ctx, this.norm1.forward(g, x), this.onlyCrossAttention ? encoderHiddenStates : null)), x);
    // 2. cross-attention
    h = add(g, g.scope('attn2', () => this.attn2.forward(ctx, this.norm2.forward(g, h), encoderHiddenStates)), h);
    // 3. feed-forward
    return add(g, g.scope('ff', () => this.ff.forward(g, this.norm3.forward(g, h))), h);
  }
}

export interface Transformer2DOptions {
  readonly heads: number;
  readonly dimHead: number;
  readonly inChannels: number;
  readonly numLayers: number;
  readonly crossAttentionDim: number;
  readonly normNumGroups: number;
  readonly useLinearProjection: boolean;
  readonly onlyCrossAttention: boolean;
}

/** diffusers `Transformer2DModel` for continuous (feature-map) input. */
export class Transformer2DModel extends Module {
  readonly norm: GroupNorm;
  readonly proj_in: Linear | Conv2d;
  readonly transformer_blocks: ModuleList<BasicTransformerBlock>;
  readonly proj_out: Linear | Conv2d;
  readonly inner: number;

  constructor(readonly o: Transformer2DOptions) {
    super();
    const inner = o.heads * o.dimHead;
    this.inner = inner;
    this.norm = new GroupNorm(o.normNumGroups, o.inChannels, 1e-6);
    this.proj_in = o.useLinearProjection ? new Linear(o.inChannels, inner) : new Conv2d(o.inChannels, inner, 1);
    this.transformer_blocks = new ModuleList(
      Array.from({ length: o.numLayers }, () => new BasicTransformerBlock(inner, o.heads, o.dimHead, o.crossAttentionDim, o.onlyCrossAttention)),
    );
    this.proj_out = o.useLinearProjection ? new Linear(inner, o.inChannels) : new Conv2d(inner, o.inChannels, 1);
  }

  /** x [B, C, H, W], encoderHiddenStates [B, L, Cc] → [B, C, H, W]. */
  forward(ctx: AttentionContext, x: Value, encoderHiddenStates: Value): Value {
    const g = ctx.g;
    const shape = g.op('Shape', [x]);
    const bcs = (c: number): Value => concat(g, [slice(g, shape, [0], [1], [0]), g.constant('int64', [1], [c], 'channels'), slice(g, shape, [2], [4], [0])], 0);
    // 1. input: norm, project, flatten to tokens
    const residual = x;
    let h = this.norm.forward(g, x);
    if (this.proj_in instanceof Conv2d) {
      h = this.proj_in.forward(g, h); // [B, inner, H, W]
      h = transpose(g, reshape(g, h, [0, 0, -1]), [0, 2, 1]); // [B, HW, inner]
    } else {
      h = transpose(g, reshape(g, h, [0, 0, -1]), [0, 2, 1]); // [B, HW, C]
      h = this.proj_in.forward(g, h); // [B, HW, inner]
    }
    // 2. blocks
    this.transformer_blocks.items.forEach((block, i) => {
      h = g.scope(`transformer_blocks.${i}`, () => block.forward(ctx, h, encoderHiddenStates));
    });
    // 3. output: unflatten, project back, residual
    if (this.proj_out instanceof Conv2d) {
      h = reshape(g, transpose(g, h, [0, 2, 1]), bcs(this.inner)); // [B, inner, H, W]
      h = this.proj_out.forward(g, h); // [B, C, H, W]
    } else {
      h = this.proj_out.forward(g, h); // [B, HW, C]
      h = reshape(g, transpose(g, h, [0, 2, 1]), bcs(this.o.inChannels)); // [B, C, H, W]
    }
    return add(g, h, residual);
  }
}
