/**
 * Accumulates the native pass's cross-attention probabilities for the patch prompts (spec §2): the
 * conditional rows only, of the attn2 layers in down and up blocks at 1/32 image resolution (mid block
 * excluded), summed over every step and averaged over steps and layers. The UNet graph already averages
 * over heads; all chosen layers of SD/SDXL have the same head count, so this equals the reference's plain
 * mean over all heads of all layers. Accumulation is float32 (the reference uses fp16, spec B8).
 */
import type { CrossAttentionLayer } from '../models/unet-2d-condition.js';
import type { Tensor } from '../tensor/tensor.js';

/** The layers AccDiffusion reads: down and up attn2 at latent/4 resolution. */
export function patchPromptLayers(layers: readonly CrossAttentionLayer[]): CrossAttentionLayer[] {
  const chosen = layers.filter((l) => l.location !== 'mid' && l.downsampleFactor === 4);
  if (chosen.length > 0) return chosen;
  // A UNet without a 1/32 level (fewer than three levels): use its coarsest down/up level instead.
  const coarsest = Math.max(...layers.filter((l) => l.location !== 'mid').map((l) => l.downsampleFactor));
  return layers.filter((l) => l.location !== 'mid' && l.downsampleFactor === coarsest);
}

export class AttentionStore {
  private sum: Float32Array | undefined;
  private steps = 0;

  constructor(readonly layers: readonly string[]) {}

  /** Adds one UNet call's maps: each [2, q, L] with rows [uncond, cond], of which only row 1 is kept, or [1, q, L] (cond only, no CFG). */
  add(maps: Record<string, Tensor>): void {
    for (const name of this.layers) {
      const t = maps[name];
      if (!t) throw new Error(`AttentionStore: the UNet returned no map for ${name}`);
      const [rows, q, keys] = t.shape as [number, number, number];
      if (rows !== 2 && rows !== 1) throw new Error(`AttentionStore: expected a batch of 1 or 2 rows, got ${rows}`);
      const cond = t.data.subarray((rows - 1) * q * keys, rows * q * keys);
      if (!this.sum) this.sum = new Float32Array(q * keys);
      if (this.sum.length !== cond.length) throw new Error(`AttentionStore: ${name} has ${q}x${keys} values, others ${this.sum.length}`);
      for (let i = 0; i < cond.length; i++) this.sum[i]! += cond[i]!;
    }
    this.steps++;
  }

  /** The aggregated map [q, L]: sum / (steps · layers). */
  aggregate(): Float32Array {
    if (!this.sum || this.steps === 0) throw new Error('AttentionStore: nothing recorded');
    const d = this.steps * this.layers.length;
    return Float32Array.from(this.sum, (v) => v / d);
  }
}
