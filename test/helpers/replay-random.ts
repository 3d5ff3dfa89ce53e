/**
 * A test-only RandomSource that replays the draws recorded from the original AccDiffusion code
 * (test/fixtures/oracle/accdiffusion): stage noise (`random.randn_like.i`), window-interaction
 * permutations (`random.randperm_concat`) and the view jitter implied by the recorded md views.
 */
import type { RandomSource } from '../../src/tensor/random.js';
import { tensor, type Tensor } from '../../src/tensor/tensor.js';
import { getViews, jitterRange, viewFromTuple, type RandInt } from '../../src/patch/views.js';
import { oracle, oracleJson } from './oracle.js';

export class ReplayRandom implements RandomSource {
  private noiseIndex = 0;
  private permOffset = 0;
  constructor(private readonly run: string) {}

  randn(shape: readonly number[]): Tensor {
    const t = oracle(`accdiffusion/${this.run}`).get(`random.randn_like.${this.noiseIndex++}`);
    if (!t || !(t.data instanceof Float32Array)) throw new Error(`replay: no randn_like.${this.noiseIndex - 1}`);
    if (t.shape.join() !== shape.join()) throw new Error(`replay: randn asked for [${shape}], recorded [${t.shape}]`);
    return tensor(shape, t.data);
  }

  randperm(n: number): Int32Array {
    const all = oracle(`accdiffusion/${this.run}`).get('random.randperm_concat')!.data as Uint8Array;
    if (this.permOffset + n > all.length) throw new Error('replay: ran out of recorded permutations');
    const p = Int32Array.from(all.subarray(this.permOffset, this.permOffset + n));
    this.permOffset += n;
    return p;
  }

  randint(): number {
    throw new Error('replay: randint is replayed by jitterReplay');
  }

  /** Permutation values consumed so far. */
  get permutationsUsed(): number {
    return this.permOffset;
  }
}

/**
 * The jitter draws (in the pipeline's draw order: stage by stage, view by view, width then height) that
 * reproduce the recorded md views on the attention grid.
 */
export function jitterReplay(run: string, baseLatent: number): RandInt & { remaining: () => number } {
  const json = oracleJson<{ md_views_attention_coords: Record<string, number[][]>; call: { width: number; height: number } }>(`accdiffusion/${run}`);
  const draws: number[] = [];
  const window = baseLatent / 4;
  const stride = window / 2;
  const jr = jitterRange(window, stride);
  for (const scale of Object.keys(json.md_views_attention_coords).map(Number).sort((a, b) => a - b)) {
    const recorded = json.md_views_attention_coords[String(scale)]!.map(viewFromTuple);
    const grid = (baseLatent * scale) / 4;
    const base = getViews({ height: grid, width: grid, window, stride }).views;
    base.forEach((b, i) => {
      const r = recorded[i]!;
      if (!(b.wStart === 0 && b.wEnd === grid)) draws.push(r.wStart - jr - b.wStart);
      if (!(b.hStart === 0 && b.hEnd === grid)) draws.push(r.hStart - jr - b.hStart);
    });
  }
  let k = 0;
  const fn = ((lo: number, hi: number) => {
    const v = draws[k++];
    if (v === undefined) throw new Error('replay: no more jitter draws');
    if (v < lo || v > hi) throw new Error(`replay: recorded jitter ${v} outside the requested [${lo}, ${hi}]`);
    return v;
  }) as RandInt & { remaining: () => number };
  fn.remaining = () => draws.length - k;
  return fn;
}
