/**
 * DemoFusion's skip residual (Du et al., CVPR 2024, §3.2; spec §6): at step i of an upscaling stage the
 * latents are blended with the upsampled previous stage noised to t_i, weighted by the cosine factor
 * c1 = cf(t)^cosineScale1, so early (noisy) steps follow the lower-resolution result.
 */
import type { Tensor } from '../tensor/tensor.js';

/** DemoFusion's cosine factor cf(t) = ½(1 + cos(π(T − t)/T)), T = num_train_timesteps. */
export function cosineFactor(t: number, numTrainTimesteps: number): number {
  return 0.5 * (1 + Math.cos((Math.PI * (numTrainTimesteps - t)) / numTrainTimesteps));
}

/** (1 − c1)·x + c1·noised, element-wise; both [1, C, h, w]. */
export function skipResidual(x: Tensor, noised: Tensor, c1: number): Tensor {
  const mixed = new Float32Array(x.data.length);
  for (let k = 0; k < mixed.length; k++) mixed[k] = (1 - c1) * x.data[k]! + c1 * noised.data[k]!;
  return { data: mixed, shape: x.shape };
}
