/**
 * Window interaction (AccDiffusion §3.3 of the paper, "--shuffle"): before the UNet, the V dilated
 * sub-latents of one batch swap values element by element through a random permutation per
 * (channel, row, col); after the UNet the predictions are routed back by the inverse permutation.
 *
 * Ports: AccDiffusion `accdiffusion_sdxl.py` dilated-sampling loop (`shuffle_index`, `original_index`,
 * `gather`); spec §5.5, §9.4, §13.10.
 *
 * Permutation layout (replayable): an Int32Array of E·V values, E = C·h·w, where entries [e·V, (e+1)·V)
 * are the e-th `randperm(V)` call; e runs row-major over (c, y, x). This is exactly the reference's
 * `torch.stack([randperm(V) for _ in range(E)]).view(C, h, w, V)`.
 */
import { tensor, type Tensor } from '../tensor/tensor.js';
import type { RandomSource } from '../tensor/random.js';

/** The part of the shared RandomSource this file needs (a replay source only has to provide randperm). */
export type PermutationSource = Pick<RandomSource, 'randperm'>;

/** Draws E permutations of V windows in the reference's call order (E calls of randperm(V)). */
export function drawWindowPermutations(rng: PermutationSource, elements: number, numWindows: number): Int32Array {
  const out = new Int32Array(elements * numWindows);
  for (let e = 0; e < elements; e++) {
    const p = rng.randperm(numWindows);
    if (p.length !== numWindows) throw new RangeError(`randperm(${numWindows}) returned ${p.length} values`);
    out.set(p, e * numWindows);
  }
  return out;
}

function dims(x: Tensor, perms: Int32Array, fn: string): { v: number; e: number } {
  const v = x.shape[0]!;
  const e = v === 0 ? 0 : x.data.length / v;
  if (perms.length !== v * e) throw new RangeError(`${fn}: ${perms.length} permutation entries for ${v} windows × ${e} elements`);
  return { v, e };
}

/** In[v][e] = X[π_e(v)][e] for a batch X = [V, C, h, w] (torch `gather(0, shuffle_index)`). */
export function shuffleWindows(x: Tensor, perms: Int32Array): Tensor {
  const { v: V, e: E } = dims(x, perms, 'shuffleWindows');
  const out = new Float32Array(x.data.length);
  for (let e = 0; e < E; e++) {
    const p = e * V;
    for (let v = 0; v < V; v++) out[v * E + e] = x.data[perms[p + v]! * E + e]!;
  }
  return tensor(x.shape, out);
}

/**
 * Out[v][e] = P[π_e⁻¹(v)][e] (torch `gather(0, original_index)` with original_index the scatter-built
 * inverse), i.e. every element's prediction returns to the window its input came from:
 * Out[π_e(k)][e] = P[k][e].
 */
export function unshuffleWindows(pred: Tensor, perms: Int32Array): Tensor {
  const { v: V, e: E } = dims(pred, perms, 'unshuffleWindows');
  const out = new Float32Array(pred.data.length);
  for (let e = 0; e < E; e++) {
    const p = e * V;
    for (let k = 0; k < V; k++) out[perms[p + k]! * E + e] = pred.data[k * E + e]!;
  }
  return tensor(pred.shape, out);
}

/** True when every V-block of `perms` is a permutation of 0..V−1. */
export function arePermutations(perms: Int32Array, numWindows: number): boolean {
  if (perms.length % numWindows !== 0) return false;
  const seen = new Uint8Array(numWindows);
  for (let b = 0; b < perms.length; b += numWindows) {
    seen.fill(0);
    for (let k = 0; k < numWindows; k++) {
      const v = perms[b + k]!;
      if (!(v >= 0 && v < numWindows) || seen[v]) return false;
      seen[v] = 1;
    }
  }
  return true;
}
