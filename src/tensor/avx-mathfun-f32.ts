/**
 * Float32 emulation of the Cephes-style `log256_ps` / `sincos256_ps` from PyTorch's
 * aten/src/ATen/native/cpu/avx_mathfun.h, one lane at a time, as torch's AVX2 build actually executes
 * them: GCC contracts each multiply that feeds an add into a fused multiply-add, which changes the last
 * bit of about 1% of torch.randn outputs, so the contraction is reproduced here with an exact `fma32`.
 * Used only by the torch-compatible normal sampler (torch-generator.ts).
 */

import { fma32 } from './fma32.js';

const f = Math.fround;
const F32 = new Float32Array(1);
const B32 = new Uint32Array(F32.buffer);

function bitsOf(x: number): number {
  F32[0] = x;
  return B32[0]!;
}
function fromBits(u: number): number {
  B32[0] = u >>> 0;
  return F32[0]!;
}

const SQRTHF = f(0.707106781186547524);
const LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
  -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1].map(f);
const LOG_Q1 = f(-2.12194440e-4);
const LOG_Q2 = f(0.693359375);

/** avx_mathfun log256_ps for one positive float32 lane (NaN for x <= 0). */
export function cephesLogF32(x0: number): number {
  if (!(x0 > 0)) return NaN;
  // Denormals are clamped to the smallest normal, as the original does.
  const x1 = Math.max(x0, fromBits(0x00800000));
  const bits = bitsOf(x1);
  let e = f((bits >>> 23) - 0x7f);
  e = f(e + 1);
  let x = fromBits((bits & ~0x7f800000) | 0x3f000000);
  const below = x < SQRTHF;
  const tmp = below ? x : 0;
  x = f(x - 1);
  if (below) e = f(e - 1);
  x = f(x + tmp);
  const z = f(x * x);
  let y = LOG_P[0]!;
  for (let i = 1; i < LOG_P.length; i++) y = fma32(y, x, LOG_P[i]!);
  y = f(y * x);
  y = fma32(y, z, f(e * LOG_Q1));
  y = fma32(z, -0.5, y);
  x = f(x + y);
  return fma32(e, LOG_Q2, x);
}

const FOPI = f(1.27323954473516);
const DP1 = f(-0.78515625);
const DP2 = f(-2.4187564849853515625e-4);
const DP3 = f(-3.77489497744594108e-8);
const COS_P0 = f(2.443315711809948e-5);
const COS_P1 = f(-1.388731625493765e-3);
const COS_P2 = f(4.166664568298827e-2);
const SIN_P0 = f(-1.9515295891e-4);
const SIN_P1 = f(8.3321608736e-3);
const SIN_P2 = f(-1.6666654611e-1);

/** avx_mathfun sincos256_ps for one float32 lane; writes [sin, cos] into `out`. Accurate for |x| < 8192. */
export function cephesSinCosF32(theta: number, out: Float64Array | number[]): void {
  let x = Math.abs(theta);
  let y = f(x * FOPI);
  // cvttps truncates; then j = (j + 1) & ~1 picks the octant pair as in Cephes.
  const j = ((Math.trunc(y) | 0) + 1) & ~1;
  y = f(j);
  const sinNeg = (theta < 0 || Object.is(theta, -0)) !== ((j & 4) !== 0);
  const cosNeg = (~(j - 2) & 4) !== 0;
  const sinPolyIsSin = (j & 2) === 0;
  x = fma32(y, DP1, x);
  x = fma32(y, DP2, x);
  x = fma32(y, DP3, x);
  const z = f(x * x);
  let yc = fma32(COS_P0, z, COS_P1);
  yc = fma32(yc, z, COS_P2);
  yc = f(yc * z);
  yc = fma32(yc, z, -f(z * 0.5));
  yc = f(yc + 1);
  let ys = fma32(SIN_P0, z, SIN_P1);
  ys = fma32(ys, z, SIN_P2);
  ys = f(ys * z);
  ys = fma32(ys, x, x);
  const s = sinPolyIsSin ? ys : yc;
  const c = sinPolyIsSin ? yc : ys;
  out[0] = sinNeg ? -s : s;
  out[1] = cosNeg ? -c : c;
}
