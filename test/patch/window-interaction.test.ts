// Window interaction: replay of the reference's randperm stream and the invariants of spec §13.10.
import test from 'node:test';
import assert from 'node:assert/strict';
import { oracle, oracleJson } from '../helpers/oracle.js';
import { arePermutations, drawWindowPermutations, shuffleWindows, unshuffleWindows, type PermutationSource } from '../../src/patch/window-interaction.js';
import { tensor } from '../../src/tensor/tensor.js';

/** Replays a recorded concatenation of randperm outputs in call order. */
function replay(values: Uint8Array): PermutationSource & { used: () => number } {
  let at = 0;
  return {
    randperm(n: number): Int32Array {
      const p = Int32Array.from(values.subarray(at, at + n));
      at += n;
      return p;
    },
    used: () => at,
  };
}

function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

test('replayed randperm stream (corgi 1024 run): every block is a permutation; shuffle round-trips', () => {
  const run = 'accdiffusion/accdiffusion_corgi_1024_unmodified';
  const j = oracleJson<{ randperm_run_lengths: [number, number][] }>(run);
  const all = oracle(run).get('random.randperm_concat')!.data as Uint8Array;
  const src = replay(all);
  const [C, h, w] = [4, 32, 32]; // sub-latents are the tiny base latent size at every stage
  for (const [V, calls] of j.randperm_run_lengths) {
    const steps = calls / (C * h * w);
    assert.equal(steps, 4);
    for (let step = 0; step < steps; step++) {
      const start = src.used();
      const perms = drawWindowPermutations(src, C * h * w, V);
      assert.deepEqual(Array.from(perms), Array.from(all.subarray(start, start + C * h * w * V)));
      assert.ok(arePermutations(perms, V));
      const x = tensor([V, C, h, w], randomData(V * C * h * w, step + V));
      const shuffled = shuffleWindows(x, perms);
      assert.deepEqual(unshuffleWindows(shuffled, perms).data, x.data);
    }
  }
  assert.equal(src.used(), all.length);
});

test('shuffle semantics: In[v][e] = X[π_e(v)][e]; multiset per element preserved; V = 1 is identity', () => {
  const V = 3, E = 5;
  const perms = new Int32Array([0, 1, 2, 2, 0, 1, 1, 2, 0, 0, 2, 1, 2, 1, 0]);
  const x = tensor([V, 1, 1, E], Float32Array.from({ length: V * E }, (_, i) => i));
  const s = shuffleWindows(x, perms);
  for (let e = 0; e < E; e++) {
    for (let v = 0; v < V; v++) assert.equal(s.data[v * E + e], x.data[perms[e * V + v]! * E + e]);
    const a = [0, 1, 2].map((v) => s.data[v * E + e]).sort();
    const b = [0, 1, 2].map((v) => x.data[v * E + e]).sort();
    assert.deepEqual(a, b);
  }
  const one = tensor([1, 2, 2, 2], randomData(8, 3));
  assert.deepEqual(shuffleWindows(one, new Int32Array(8)).data, one.data);
});

test('identity "UNet": routed-back predictions equal the un-shuffled blurred inputs (§13.10)', () => {
  const V = 4, C = 4, h = 6, w = 5;
  let n = 7;
  const rng: PermutationSource = {
    randperm(k: number) {
      // Fisher–Yates with a small LCG: a real permutation source, not a fixed pattern.
      const p = Int32Array.from({ length: k }, (_, i) => i);
      for (let i = k - 1; i > 0; i--) {
        n = (n * 1103515245 + 12345) >>> 0;
        const j = n % (i + 1);
        [p[i], p[j]] = [p[j]!, p[i]!];
      }
      return p;
    },
  };
  const perms = drawWindowPermutations(rng, C * h * w, V);
  assert.ok(arePermutations(perms, V));
  const blurred = tensor([V, C, h, w], randomData(V * C * h * w, 11));
  const modelIn = shuffleWindows(blurred, perms);
  assert.notDeepEqual(modelIn.data, blurred.data);
  const routed = unshuffleWindows(modelIn, perms);
  assert.deepEqual(routed.data, blurred.data);
  assert.ok(!arePermutations(new Int32Array([0, 0, 1, 2]), 2));
});
