/**
 * Small typed helpers over GraphBuilder for the ONNX ops the models use, so model code reads like the
 * PyTorch it ports (`silu(g, x)`, `reshape(g, x, [0, -1, heads, d])`). Opset 17.
 */
import { float, type GraphBuilder, type Value } from './builder.js';

export const add = (g: GraphBuilder, a: Value, b: Value): Value => g.op('Add', [a, b]);
export const sub = (g: GraphBuilder, a: Value, b: Value): Value => g.op('Sub', [a, b]);
export const mul = (g: GraphBuilder, a: Value, b: Value): Value => g.op('Mul', [a, b]);
export const div = (g: GraphBuilder, a: Value, b: Value): Value => g.op('Div', [a, b]);
export const matmul = (g: GraphBuilder, a: Value, b: Value): Value => g.op('MatMul', [a, b]);

/** A float32 scalar (or vector) constant. */
export function scalar(g: GraphBuilder, v: number): Value {
  return g.constant('float32', [], [v], 'scalar');
}

/** An int64 vector constant (shapes, axes, indices). */
export function ints(g: GraphBuilder, v: readonly number[]): Value {
  return g.constant('int64', [v.length], v, 'ints');
}

/** Reshape with ONNX semantics: 0 copies the input dim, -1 infers. */
export function reshape(g: GraphBuilder, x: Value, shape: readonly number[] | Value): Value {
  return g.op('Reshape', [x, Array.isArray(shape) ? ints(g, shape as number[]) : (shape as Value)]);
}

export function transpose(g: GraphBuilder, x: Value, perm: readonly number[]): Value {
  return g.op('Transpose', [x], { perm: [...perm] });
}

export function softmax(g: GraphBuilder, x: Value, axis = -1): Value {
  return g.op('Softmax', [x], { axis });
}

export function concat(g: GraphBuilder, xs: readonly Value[], axis: number): Value {
  return g.op('Concat', [...xs], { axis });
}

/** Splits along `axis` into equal parts (opset 13–17 form: the output count sets the parts). */
export function split(g: GraphBuilder, x: Value, parts: number, axis: number): Value[] {
  return g.node('Split', [x], { axis }, parts);
}

/** Slice [start, end) on the given axes. */
export function slice(g: GraphBuilder, x: Value, starts: number[], ends: number[], axes: number[]): Value {
  return g.op('Slice', [x, ints(g, starts), ints(g, ends), ints(g, axes)]);
}

export function unsqueeze(g: GraphBuilder, x: Value, axes: number[]): Value {
  return g.op('Unsqueeze', [x, ints(g, axes)]);
}

export function silu(g: GraphBuilder, x: Value): Value {
  return mul(g, x, g.op('Sigmoid', [x]));
}

/** Exact (erf) GELU, as torch.nn.functional.gelu. */
export function gelu(g: GraphBuilder, x: Value): Value {
  const e = g.op('Erf', [mul(g, x, scalar(g, Math.SQRT1_2))]);
  return mul(g, mul(g, x, add(g, e, scalar(g, 1))), scalar(g, 0.5));
}

/**
 * Exact (erf) GELU as one com.microsoft.Gelu node: onnxruntime does not fuse the five-op erf form itself,
 * and the UNet's GEGLU applies it to the widest activations of every transformer block.
 */
export function geluFused(g: GraphBuilder, x: Value): Value {
  return g.op('Gelu', [x], {}, 'com.microsoft');
}

/** CLIP's quick_gelu: x * sigmoid(1.702 x). */
export function quickGelu(g: GraphBuilder, x: Value): Value {
  return mul(g, x, g.op('Sigmoid', [mul(g, x, scalar(g, 1.702))]));
}

/** Mean over the given axes (kept). */
export function reduceMean(g: GraphBuilder, x: Value, axes: number[], keepdims = 1): Value {
  return g.op('ReduceMean', [x], { axes, keepdims });
}

/** Nearest-neighbour ×2 upsampling of NCHW (F.interpolate(scale_factor=2, mode="nearest")). */
export function upsampleNearest2x(g: GraphBuilder, x: Value): Value {
  const scales = g.constant('float32', [4], [1, 1, 2, 2], 'scales');
  return g.op('Resize', [x, null, scales], { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' });
}

export { float };
