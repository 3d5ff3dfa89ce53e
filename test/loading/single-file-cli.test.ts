/**
 * `--model FILE.safetensors` end to end through the real binary with no --config: a one-file SGM (SDXL layout)
 * checkpoint written in the test from the bundled model (models/shapes-xl) is detected as SDXL, found to have the
 * bundled model's shapes, and gives an AccDiffusion run whose latents are bit-identical to the folder's; `info`
 * describes it. Error paths: an SD1 file with non-standard shapes and no --config, --config on a folder, a pickle file.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { folderArchitecture } from '../../src/loading/architectures.js';
import { defaultModelPath } from '../../src/loading/package-root.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';
import { planCheckpoint, writeCheckpointFromFolder } from '../helpers/checkpoint-files.js';
import { describeRun, runCli, tempDir } from '../cli/e2e-helpers.js';
import { tinySd } from '../helpers/paths.js';

test('--model shapes-xl.safetensors (SGM layout, no --config): detected, runs AccDiffusion bit-identical to the folder; info describes it', async () => {
  const tmp = tempDir('single-file-cli');
  try {
    const folder = defaultModelPath();
    const file = join(tmp.dir, 'shapes-xl.safetensors');
    writeCheckpointFromFolder(file, folder, planCheckpoint(folderArchitecture(folder, 'bundled'), 'sdxl'));
    const latents: Float32Array[] = [];
    for (const model of [file, folder]) {
      const saved = join(tmp.dir, `${latents.length}.safetensors`);
      const args = ['generate', '--model', model, '--prompt', 'a red circle', '--width', '384', '--height', '384', '--steps', '2',
        '--save-latents', saved, '--out', join(tmp.dir, `${latents.length}.png`), '--quiet'];
      const run = await runCli(args);
      assert.equal(run.code, 0, describeRun(args, run));
      latents.push(loadSafetensors(saved).get('latents')!.data as Float32Array);
    }
    assert.equal(latents[0]!.length, 4 * 48 * 48);
    assert.deepEqual(latents[0], latents[1]);

    const info = await runCli(['info', '--model', file, '--json']);
    assert.equal(info.code, 0, info.stderr);
    const j = JSON.parse(info.stdout) as { family: string; pipelineClass: string; nativeSize: number; components: Array<{ name: string; parameters: number }>; unusedTensors: number };
    assert.match(j.family, /^SDXL single-file checkpoint; configs: the bundled model/);
    assert.equal(j.pipelineClass, 'StableDiffusionXLPipeline');
    assert.equal(j.nativeSize, 256);
    assert.deepEqual(j.components.map((c) => c.name), ['text_encoder', 'text_encoder_2', 'unet', 'vae']);
    assert.equal(j.unusedTensors, 0);
  } finally {
    tmp.remove();
  }
});

test('single-file errors are one line with exit 2: an SD1 file with non-standard shapes and no --config, --config on a folder, a .ckpt', async () => {
  const tmp = tempDir('single-file-err');
  try {
    const cases: Array<[string[], RegExp]> = [
      [['--model', join('test', 'fixtures', 'models', 'single-file', 'tiny-sd.fp16.safetensors')], /not those of the standard SD1 architecture, so pass --config/],
      [['--model', tinySd, '--config', tinySd], /--config applies to single-file checkpoints/],
      [['--model', join(tmp.dir, 'model.ckpt')], /pickle-based checkpoints are never loaded/],
      [['--model', tinySd, '--prediction-type', 'x0'], /unknown prediction-type "x0"/],
    ];
    writeFileSync(join(tmp.dir, 'model.ckpt'), 'not read');
    for (const [extra, want] of cases) {
      const args = ['generate', ...extra, '--prompt', 'x', '--out', join(tmp.dir, 'o.png'), '--quiet'];
      const run = await runCli(args);
      assert.equal(run.code, 2, describeRun(args, run));
      assert.match(run.stderr, want);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    }
  } finally {
    tmp.remove();
  }
});
