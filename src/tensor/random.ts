/**
 * The random-number interface the pipeline draws from: stage noise (torch.randn / randn_like), the
 * AccDiffusion window-interaction permutations (torch.randperm) and the view-jitter integers
 * (AccDiffusion accdiffusion_sdxl.py / DemoFusion get_views). TorchGenerator reproduces PyTorch's CPU
 * generator bit for bit; tests can swap in a source that replays recorded draws.
 */
import type { Tensor } from './tensor.js';

export interface RandomSource {
  /** Standard-normal float32 tensor of the given shape (torch.randn(shape, generator=g)). */
  randn(shape: readonly number[]): Tensor;
  /** A uniformly random permutation of 0..n-1 (torch.randperm(n, generator=g)). */
  randperm(n: number): Int32Array;
  /** A uniform integer in [low, highInclusive] (the view-jitter draw). */
  randint(low: number, highInclusive: number): number;
}

/** Draws an integer uniformly from [low, highInclusive] (Python `random.randint` contract). */
export type RandInt = (low: number, highInclusive: number) => number;
