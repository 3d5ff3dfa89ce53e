/**
 * Timestep embeddings of diffusers v0.27 `models/embeddings.py`: `get_timestep_embedding` (sinusoidal,
 * with flip_sin_to_cos and downscale_freq_shift), `Timesteps` (the parameter-free module) and
 * `TimestepEmbedding` (linear_1 → act → linear_2 [→ post_act]).
 */
import type { GraphBuilder, Value } from '../graph/builder.js';
import { Module } from '../graph/module.js';
import { Linear } from '../graph/nn.js';
import { concat, mul, reshape, slice, unsqueeze } from '../graph/ops.js';
import { activation, type ActivationName } from './activations.js';

/**
 * The frequency table exp(-ln(max_period)·i / (half − shift)), i < half, rounded step by step to float32
 * like torch computes it, so the sin/cos arguments (t up to 1000 times these) agree to the last bit.
 */
export function timestepFrequencies(embeddingDim: number, downscaleFreqShift: number, maxPeriod = 10000): Float32Array {
  const half = Math.floor(embeddingDim / 2);
  const f = Math.fround;
  const out = new Float32Array(half);
  const logP = f(-Math.log(maxPeriod));
  const denom = f(half - downscaleFreqShift);
  for (let i = 0; i < half; i++) out[i] = f(Math.exp(f(f(logP * i) / denom)));
  return out;
}

/**
 * Sinusoidal embedding of a [N] float32 timestep vector → [N, embeddingDim]:
 * cat(sin(t·f), cos(t·f)), swapped to cat(cos, sin) when flipSinToCos, zero-padded when the dim is odd.
 */
export function getTimestepEmbedding(g: GraphBuilder, timesteps: Value, embeddingDim: number, flipSinToCos: boolean, downscaleFreqShift: number, scale = 1): Value {
  const freqs = timestepFrequencies(embeddingDim, downscaleFreqShift);
  const half = freqs.length;
  let args = mul(g, unsqueeze(g, timesteps, [1]), g.constant('float32', [1, half], freqs, 'freqs')); // [N, half]
  if (scale !== 1) args = mul(g, args, g.constant('float32', [], [scale], 'scale'));
  const sin = g.op('Sin', [args]);
  const cos = g.op('Cos', [args]);
  let emb = concat(g, flipSinToCos ? [cos, sin] : [sin, cos], -1); // [N, 2·half]
  if (embeddingDim % 2 === 1) {
    emb = g.op('Pad', [emb, g.constant('int64', [4], [0, 0, 0, 1], 'pads')]);
  }
  return emb;
}

/** diffusers `Timesteps`: no parameters, only the sinusoidal projection. */
export class Timesteps extends Module {
  constructor(readonly numChannels: number, readonly flipSinToCos: boolean, readonly downscaleFreqShift: number) {
    super();
  }

  /** [N] → [N, numChannels]. */
  forward(g: GraphBuilder, timesteps: Value): Value {
    return getTimestepEmbedding(g, timesteps, this.numChannels, this.flipSinToCos, this.downscaleFreqShift);
  }

  /** [B, K] → [B, K·numChannels]: embeds every entry, then flattens per row (SDXL's time_ids). */
  forwardRows(g: GraphBuilder, values: Value): Value {
    const flat = reshape(g, values, [-1]); // [B·K]
    const emb = this.forward(g, flat); // [B·K, C]
    const rows = slice(g, g.op('Shape', [values]), [0], [1], [0]);
    return reshape(g, emb, concat(g, [rows, g.constant('int64', [1], [-1], 'minus1')], 0)); // [B, K·C]
  }
}

/** diffusers `TimestepEmbedding` (no cond_proj). */
export class TimestepEmbedding extends Module {
  readonly linear_1: Linear;
  readonly linear_2: Linear;
  constructor(inChannels: number, timeEmbedDim: number, readonly actFn: ActivationName = 'silu', readonly postActFn: ActivationName | null = null, outDim?: number) {
    super();
    this.linear_1 = new Linear(inChannels, timeEmbedDim);
    this.linear_2 = new Linear(timeEmbedDim, outDim ?? timeEmbedDim);
  }

  /** [N, in] → [N, timeEmbedDim]. */
  forward(g: GraphBuilder, sample: Value): Value {
    let x = this.linear_1.forward(g, sample);
    x = activation(g, this.actFn, x);
    x = this.linear_2.forward(g, x);
    return this.postActFn ? activation(g, this.postActFn, x) : x;
  }
}
