/**
 * The patch branch (MultiDiffusion, spec §4): native-size windows of the jitter-padded latent, each with
 * its own conditioning (AccDiffusion's patch prompts and crop time ids), denoised in batches; the guided
 * noise predictions are averaged per latent cell. Averaging ε̂ and stepping once equals the reference's
 * averaging of per-window scheduler steps, because the DDIM (η=0) and Euler steps are affine in ε̂ for a
 * fixed sample (STYLE §8; checked by a test).
 */
import { AccDiffusionError } from '../errors.js';
import { crop2d, pad2d } from '../tensor/ops.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import type { GuidedCondition, UNetRunner } from '../sampling/unet-runner.js';
import type { View } from './views.js';

export interface PatchBranchArgs {
  readonly unet: UNetRunner;
  /** Latent x [1, C, H, W] (un-padded). */
  readonly latents: Tensor;
  /** Windows in coordinates of the latent padded by `padding` cells on every side. */
  readonly views: readonly View[];
  readonly padding: { readonly height: number; readonly width: number };
  /** One condition per view. */
  readonly conditions: readonly GuidedCondition[];
  readonly timestep: number;
  /** Scheduler input divisor for batch b (√(σ²+1) for Euler, 1 for DDIM; see reference-compat.ts). */
  readonly inputDivisor: (batch: number) => number;
  readonly guidance: number;
  readonly guidanceRescale: number;
  readonly viewBatchSize: number;
  readonly onBatch?: (batch: number, batches: number) => void;
}

/** Per-cell average of the windows' guided noise predictions, [1, C, H, W]. */
export async function patchBranchNoise(a: PatchBranchArgs): Promise<Tensor> {
  const [, C, H, W] = a.latents.shape as [number, number, number, number];
  const ph = a.padding.height;
  const pw = a.padding.width;
  const padded = pad2d(a.latents, { top: ph, bottom: ph, left: pw, right: pw });
  const PH = H + 2 * ph;
  const PW = W + 2 * pw;
  const value = new Float32Array(C * PH * PW);
  const count = new Float32Array(PH * PW);
  const batches = Math.ceil(a.views.length / a.viewBatchSize);
  for (let b = 0; b < batches; b++) {
    const views = a.views.slice(b * a.viewBatchSize, (b + 1) * a.viewBatchSize);
    const vh = views[0]!.hEnd - views[0]!.hStart;
    const vw = views[0]!.wEnd - views[0]!.wStart;
    const per = C * vh * vw;
    const input = new Float32Array(views.length * per);
    const divisor = a.inputDivisor(b);
    views.forEach((v, k) => {
      if (v.hEnd - v.hStart !== vh || v.wEnd - v.wStart !== vw) throw new Error('patchBranchNoise: windows of one batch differ in size');
      const crop = crop2d(padded, v.hStart, v.wStart, vh, vw).data;
      for (let i = 0; i < per; i++) input[k * per + i] = crop[i]! / divisor;
    });
    const conds = a.conditions.slice(b * a.viewBatchSize, b * a.viewBatchSize + views.length);
    const { noise } = await a.unet.predict(tensor([views.length, C, vh, vw], input), a.timestep, conds, {
      guidance: a.guidance,
      guidanceRescale: a.guidanceRescale,
    });
    views.forEach((v, k) => {
      for (let c = 0; c < C; c++) {
        for (let y = 0; y < vh; y++) {
          const src = k * per + c * vh * vw + y * vw;
          const dst = c * PH * PW + (v.hStart + y) * PW + v.wStart;
          for (let x = 0; x < vw; x++) value[dst + x]! += noise.data[src + x]!;
        }
      }
      for (let y = 0; y < vh; y++) for (let x = 0; x < vw; x++) count[(v.hStart + y) * PW + v.wStart + x]! += 1;
    });
    a.onBatch?.(b + 1, batches);
  }
  const out = crop2d(tensor([1, C, PH, PW], value), ph, pw, H, W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const n = count[(y + ph) * PW + x + pw]!;
      // Views always cover the un-padded latent (spec §13.7); a gap would be a geometry bug.
      if (n === 0) throw new AccDiffusionError(`internal error: latent cell (${y}, ${x}) is covered by no window`);
      for (let c = 0; c < C; c++) out.data[c * H * W + y * W + x]! /= n;
    }
  }
  return out;
}
