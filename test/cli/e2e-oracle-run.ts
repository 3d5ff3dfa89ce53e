/**
 * The CLI side of diffusers parity: run `generate` through the real binary with `--save-latents`, and compare the
 * saved final latents with the oracle run's `output.latent` within 1e-3 (ORACLE-README §4.8, §8.4).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { loadSafetensors, writeSafetensors } from '../../src/weights/safetensors.js';
import { oracleF32 } from '../helpers/oracle.js';
import { describeRun, runCli } from './e2e-helpers.js';

/** Writes the oracle run's initial latents as an --init-latents file in `dir`; returns its path. */
export function writeOracleInitLatents(oracle: string, dir: string): string {
  const init = join(dir, 'init.safetensors');
  const latentsIn = oracleF32(oracle, 'latents_in');
  writeSafetensors(init, { latents: { shape: latentsIn.shape, data: latentsIn.data } });
  return init;
}

/** Runs `args` (which must include `--save-latents saved`), expects exit 0 and the oracle's output.latent within 1e-3. */
export async function assertCliMatchesOracle(args: string[], saved: string, oracle: string): Promise<void> {
  const run = await runCli(args);
  assert.equal(run.code, 0, describeRun(args, run));
  const got = loadSafetensors(saved).get('latents');
  assert.ok(got && got.data instanceof Float32Array, 'saved latents');
  const want = oracleF32(oracle, 'output.latent');
  assert.deepEqual(got.shape, want.shape);
  const diff = maxAbsDiff(got.data, want.data);
  assert.ok(diff < 1e-3, `max |Δ| = ${diff}`);
}
