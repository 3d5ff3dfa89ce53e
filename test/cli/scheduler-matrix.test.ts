/**
 * Every method × every scheduler from the command line on tiny-sdxl at 2x (issue 12): `main()` runs
 * in-process with the real pipeline (loaded once and shared, so the matrix stays cheap: 512 px, 2 steps, and
 * 3 for the progressive methods so that DPM++ takes a second-order step (orders 1, 2, 1) and UniPC a
 * second-order prediction in every stage).
 * Each run must exit 0, write a 512×512 PNG whose "Sampler" is the scheduler's A1111 name, and final
 * latents that are finite. A scheduler must make a difference: each method's six final latents differ.
 * Multistep solvers throw if a stage fed them anything but one step per denoising step, in order, so
 * exit 0 for the progressive methods also checks the patch/dilated merge.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, EXIT_OK, type LoadPipelineFn } from '../../src/cli/main.js';
import { parseParameters } from '../../src/cli/parameters.js';
import { readPngTextEntry } from '../../src/cli/png-text.js';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import type { Pipeline } from '../../src/pipeline/pipeline-api.js';
import { METHODS } from '../../src/options/index.js';
import { SCHEDULER_CHOICES, SCHEDULER_NAMES } from '../../src/schedulers/names.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';
import { tinySdxl } from '../helpers/paths.js';
import { stringStream } from './string-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'accd-sched-matrix-'));
let shared: Pipeline | undefined;
test.after(async () => {
  await shared?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The real loader, once; the CLI's dispose() after each run leaves the shared pipeline open. */
const load: LoadPipelineFn = async (spec, options) => {
  shared ??= await loadPipeline(spec, options);
  const p = shared;
  return { model: p.model, generate: (o, c) => p.generate(o, c), estimate: (o) => p.estimate(o), dispose: async () => {} };
};

for (const method of METHODS) {
  test(`${method} × every scheduler on tiny-sdxl at 2x from the CLI`, { timeout: 600_000 }, async () => {
    const finals: Float32Array[] = [];
    const steps = method === 'accdiffusion' || method === 'demofusion' ? '3' : '2';
    for (const name of SCHEDULER_NAMES) {
      const out = join(dir, `${method}-${name}.png`);
      const latents = join(dir, `${method}-${name}.safetensors`);
      const argv = ['generate', '--model', tinySdxl, '--method', method, '--scheduler', name, '--scale', '2', '--steps', steps,
        '--prompt', 'a red circle and a blue square', '--seed', '5', '--out', out, '--save-latents', latents, '--quiet', '--threads', '1'];
      const stdout = stringStream();
      const stderr = stringStream();
      const code = await main(argv, { stdout, stderr, cwd: dir, env: {}, loadPipeline: load });
      assert.equal(code, EXIT_OK, `${method} ${name}: ${stderr.text()}`);
      const png = readFileSync(out);
      assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [512, 512], `${method} ${name} PNG size`);
      const params = parseParameters(readPngTextEntry(png, 'parameters')!);
      assert.equal(params.values.get('Sampler'), SCHEDULER_CHOICES[name].a1111);
      const final = loadSafetensors(latents).get('latents')!.data as Float32Array;
      assert.ok(final.every(Number.isFinite), `${method} ${name}: finite latents`);
      for (const [k, other] of finals.entries()) assert.ok(maxAbsDiff(final, other) > 1e-3, `${method}: ${name} equals ${SCHEDULER_NAMES[k]}`);
      finals.push(final);
    }
  });
}
