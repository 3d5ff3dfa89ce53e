/**
 * Exact float32 fused multiply-add. PyTorch's CPU kernels are compiled with GCC's default
 * -ffp-contract=fast, so a float32 multiply feeding an add becomes one FMA (one rounding); reproducing
 * torch's bits (torch.randn's Box–Muller, torch.linspace's vectorised fill) needs the same operation.
 */

const f = Math.fround;
const F64 = new Float64Array(1);
const W = new Uint32Array(F64.buffer); // little-endian: W[0] low word, W[1] high word

/**
 * Correctly rounded float32 fused multiply-add of float32 inputs. The product is exact in float64; the
 * sum is rounded to float64 with round-to-odd (nudging an inexact even result toward the exact value),
 * which makes the final rounding to float32 free of double-rounding errors.
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bb = s - p;
  const err = (p - (s - bb)) + (c - bb);
  if (err === 0) return f(s);
  F64[0] = s;
  if ((W[0]! & 1) === 0) {
    const awayFromZero = err > 0 === s > 0;
    if (awayFromZero) {
      if (W[0] === 0xffffffff) { W[0] = 0; W[1] = W[1]! + 1; } else W[0] = W[0]! + 1;
    } else {
      if (W[0] === 0) { W[0] = 0xffffffff; W[1] = W[1]! - 1; } else W[0] = W[0]! - 1;
    }
    return f(F64[0]!);
  }
  return f(s);
}

