/**
 * Re-dilated convolution with the dilation chosen at run time (ScaleCrafter, He et al., ICLR 2024, §3.2
 * "re-dilation"; the reference's ReDilateConvProcessor in YingqingHe/ScaleCrafter model.py swaps a
 * conv's dilation and padding for the early steps).
 *
 * ONNX Conv takes its dilation as an attribute, so a graph with a fixed attribute would need one copy
 * per dilation (or an If node per conv). Instead the dilated convolution is computed from the ordinary
 * one by the polyphase identity: a 3×3 conv with dilation d and padding d on X equals, for each of the
 * d×d phases X[:, :, a::d, b::d], the undilated conv with padding 1 on that phase, interleaved back. The
 * phase split is a Reshape/Transpose whose sizes come from a runtime scalar `d`, so one graph and one copy
 * of the weights serve every dilation, including d = 1 (the plain convolution). Inputs whose size is not a
 * multiple of d are zero-padded at the bottom/right first, which matches the zero padding the dilated
 * conv sees there; the result is cropped back. A strided conv is the stride-1 "same" dilated conv
 * subsampled (the reference also pads strided convs by d for a 3×3 kernel).
 *
 * Only integer dilations: the reference handles a fractional factor f by bilinearly resizing the input
 * by ⌈f⌉/f around a conv of dilation ⌈f⌉; that is not done here (settings use integers).
 */
import type { GraphBuilder, Value } from '../graph/builder.js';
import type { Conv2d } from '../graph/nn.js';
import { concat, ints, mul, reshape, transpose } from '../graph/ops.js';

const i64 = (g: GraphBuilder, v: number): Value => g.constant('int64', [], [v], 'i64');
const idiv = (g: GraphBuilder, a: Value, b: Value): Value => g.op('Div', [a, b]);
const iadd = (g: GraphBuilder, a: Value, b: Value): Value => g.op('Add', [a, b]);
const isub = (g: GraphBuilder, a: Value, b: Value): Value => g.op('Sub', [a, b]);
const vec = (g: GraphBuilder, xs: readonly Value[]): Value => concat(g, xs.map((x) => g.op('Unsqueeze', [x, ints(g, [0])])), 0);

/**
 * conv(x) with dilation `d` (an int64 scalar value ≥ 1) and "same" padding d·(k−1)/2, keeping the
 * conv's stride. The conv must have an odd kernel and padding (k−1)/2.
 */
export function redilatedConv(g: GraphBuilder, conv: Conv2d, x: Value, d: Value): Value {
  const k = conv.kernelSize;
  const s = conv.options.stride ?? 1;
  const p = (k - 1) >> 1;
  const shape = g.op('Shape', [x]);
  const dim = (i: number): Value => g.op('Gather', [shape, i64(g, i)], { axis: 0 });
  const [B, C, H, W] = [dim(0), dim(1), dim(2), dim(3)];
  const one = i64(g, 1);
  // 1. pad H, W up to multiples of d (zeros, as the dilated conv's own padding)
  const h = idiv(g, iadd(g, H, isub(g, d, one)), d); // ⌈H/d⌉
  const w = idiv(g, iadd(g, W, isub(g, d, one)), d);
  const zero = i64(g, 0);
  const pads = vec(g, [zero, zero, zero, zero, zero, zero, isub(g, mul(g, h, d), H), isub(g, mul(g, w, d), W)]);
  const padded = g.op('Pad', [x, pads]); // [B, C, h·d, w·d]
  // 2. phases into the batch: [B, C, h, d, w, d] → [B, d, d, C, h, w] → [B·d·d, C, h, w]
  const split = reshape(g, padded, vec(g, [B, C, h, d, w, d]));
  const phases = reshape(g, transpose(g, split, [0, 3, 5, 1, 2, 4]), vec(g, [mul(g, mul(g, B, d), d), C, h, w]));
  // 3. the undilated stride-1 conv on every phase
  const y = g.op('Conv', [phases, conv.weight.value(g), conv.bias ? conv.bias.value(g) : null], {
    kernel_shape: [k, k],
    strides: [1, 1],
    pads: [p, p, p, p],
    dilations: [1, 1],
  }); // [B·d·d, Co, h, w]
  // 4. phases back: [B, d, d, Co, h, w] → [B, Co, h, d, w, d] → [B, Co, h·d, w·d], cropped to H, W
  const co = i64(g, conv.outChannels);
  const back = transpose(g, reshape(g, y, vec(g, [B, d, d, co, h, w])), [0, 3, 4, 1, 5, 2]);
  const full = reshape(g, back, vec(g, [B, co, mul(g, h, d), mul(g, w, d)]));
  const cropped = g.op('Slice', [full, ints(g, [0, 0]), vec(g, [H, W]), ints(g, [2, 3])]);
  if (s === 1) return cropped;
  // strided: every s-th output of the same-padded stride-1 conv
  const big = 1 << 30;
  return g.op('Slice', [cropped, ints(g, [0, 0]), ints(g, [big, big]), ints(g, [2, 3]), ints(g, [s, s])]);
}
