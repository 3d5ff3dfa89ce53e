/**
 * Classifier-free guidance on a CFG batch laid out as the reference does: rows interleaved
 * [uncond₀, cond₀, uncond₁, cond₁, …] (spec §1.1), plus diffusers' guidance_rescale
 * (rescale_noise_cfg, "Common Diffusion Noise Schedules and Sample Steps are Flawed" §3.4).
 */
import { std } from '../tensor/ops.js';
import { tensor, type Tensor } from '../tensor/tensor.js';

/**
 * ε̂ = ε̂_u + w·(ε̂_c − ε̂_u) for each interleaved pair; returns [B/2, ...].
 * With rescale φ > 0 the guided prediction's per-sample std is pulled towards the conditional one's.
 */
export function classifierFreeGuidance(pred: Tensor, scale: number, rescale = 0): Tensor {
  const [rows, ...rest] = pred.shape as [number, ...number[]];
  const per = pred.data.length / rows;
  const out = tensor([rows / 2, ...rest]);
  for (let v = 0; v < rows / 2; v++) {
    const u = pred.data.subarray(2 * v * per, (2 * v + 1) * per);
    const c = pred.data.subarray((2 * v + 1) * per, (2 * v + 2) * per);
    const o = out.data.subarray(v * per, (v + 1) * per);
    for (let i = 0; i < per; i++) o[i] = u[i]! + scale * (c[i]! - u[i]!);
    if (rescale > 0) rescaleNoiseCfg(o, c, rescale);
  }
  return out;
}

/**
 * diffusers' rescale_noise_cfg, in place: pulls the guided prediction's (unbiased) std towards the
 * conditional one's, mixing φ of the rescaled prediction with 1 − φ of the original.
 */
export function rescaleNoiseCfg(guided: Float32Array, cond: Float32Array, rescale: number): void {
  const stdG = std(guided);
  const f = stdG > 0 ? std(cond) / stdG : 1;
  for (let i = 0; i < guided.length; i++) guided[i] = rescale * (guided[i]! * f) + (1 - rescale) * guided[i]!;
}
