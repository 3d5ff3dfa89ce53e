/**
 * The random streams of a run, split as the reference draws them: diffusers' `generator` (initial latents,
 * Euler a's step noise), the reference's global torch RNG (stage noise, window-interaction permutations) and
 * the view jitter (the reference's Python `random`). Replay tests inject their own streams.
 */
import type { RandInt, RandomSource } from '../tensor/random.js';
import { nextSeed, type Seed } from '../tensor/seed.js';
import { TorchGenerator, type TorchGeneratorState } from '../tensor/torch-generator.js';

/** The random streams of a run (injectable for replay tests). */
export interface RandomStreams {
  /** Initial latents of the first pass and Euler a's step noise (diffusers' `generator`). */
  readonly latents: RandomSource;
  /** Stage noise and window-interaction permutations (the reference's global torch RNG). */
  readonly global: RandomSource;
  /** View jitter (the reference's Python `random`). */
  readonly jitter: RandInt;
  /** Position of the global and jitter streams, for checkpoints (absent: checkpoints unsupported). */
  snapshot?(): unknown;
  restore?(state: unknown): void;
}

/**
 * Seeded streams. The first two reproduce a CPU run of the reference seeded with `seed` (torch mt19937:
 * diffusers' generator and the global RNG); the jitter has its own stream (the reference's Python
 * `random` cannot be reproduced).
 */
export function seededStreams(seed: Seed): RandomStreams {
  const global = new TorchGenerator(seed);
  // seed + 1 as a uint64 (wraps at 2^64 − 1; no overflow past 2^53)
  const jitter = new TorchGenerator(nextSeed(seed));
  const latents = new TorchGenerator(seed);
  return {
    latents,
    global,
    jitter: (lo, hi) => jitter.randint(lo, hi),
    // latents moves on after the first draw only with Euler a, whose steps draw from it.
    snapshot: () => ({ global: global.getState(), jitter: jitter.getState(), latents: latents.getState() }),
    restore: (state) => {
      const st = state as { global: TorchGeneratorState; jitter: TorchGeneratorState; latents?: TorchGeneratorState };
      global.setState(st.global);
      jitter.setState(st.jitter);
      if (st.latents) latents.setState(st.latents);
    },
  };
}
