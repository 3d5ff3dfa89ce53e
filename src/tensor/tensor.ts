/**
 * The one tensor type the pipeline, schedulers and tests share: a dense row-major float32 array with
 * its shape (NCHW for images and latents), as PyTorch lays it out.
 */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Number of elements for a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A tensor of the given shape, zero-filled unless data is given (its length must match). */
export function tensor(shape: readonly number[], data?: Float32Array): Tensor {
  const n = numel(shape);
  if (data && data.length !== n) throw new RangeError(`tensor: data has ${data.length} elements, shape [${shape}] needs ${n}`);
  return { data: data ?? new Float32Array(n), shape: [...shape] };
}

/** Largest absolute elementwise difference; shapes must match. */
export function maxAbsDiff(a: Tensor | Float32Array, b: Tensor | Float32Array): number {
  const x = a instanceof Float32Array ? a : a.data;
  const y = b instanceof Float32Array ? b : b.data;
  if (x.length !== y.length) throw new RangeError(`maxAbsDiff: lengths ${x.length} and ${y.length} differ`);
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
