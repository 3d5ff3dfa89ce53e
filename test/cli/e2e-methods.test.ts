/**
 * End-to-end runs of the real `accdiffusion generate` binary (child process) on the tiny-sd and
 * tiny-sdxl fixture models (issue 3 "each method runs end to end from the CLI ... square and
 * non-square, at 2x and 4x, and produces the files above"; issue 4 "CLI tests run the real binary").
 *
 * The matrix covers every method with a square and a non-square target and at 2x and 4x, spread over
 * both models (tiny-sd's native size is 64 px, so its 4x runs are 256 px and cheap; tiny-sdxl's 4x
 * would be 1024 px and is left out to keep the suite fast). Each run checks: exit code; the PNG's
 * size, decoding and "parameters" chunk (read by our reader and by sharp's); --report (options,
 * per-stage sizes, window prompts, timings, UNet calls against the spec's counts, peak memory);
 * --save-stages (exactly the expected files with the right sizes); --save-latents (names, shapes, and
 * `latents` = the last stage); and the console contract of the output mode (bars/lines, --quiet, --json).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { maskFileName } from '../../src/cli/outputs.js';
import { parseParameters } from '../../src/cli/parameters.js';
import { readPngTextEntry } from '../../src/cli/png-text.js';
import { REFERENCE_NEGATIVE_PROMPT, type Method } from '../../src/options/index.js';
import type { GenerationReport } from '../../src/pipeline/result.js';
import { promptWords } from '../../src/prompts/prompt-words.js';
import { CLIPTokenizer } from '../../src/tokenizers/clip-tokenizer.js';
import { loadSafetensors } from '../../src/weights/safetensors.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';
import { describeRun, isSubsequence, runCli, squareStageRowsPerStep, tempDir, windowCount } from './e2e-helpers.js';

interface ModelFacts {
  readonly path: string;
  /** UNet sample_size (latent cells) and VAE factor of the fixture. */
  readonly nativeLatent: number;
  readonly vaeFactor: number;
}
const TINY_SD: ModelFacts = { path: tinySd, nativeLatent: 32, vaeFactor: 2 };
const TINY_SDXL: ModelFacts = { path: tinySdxl, nativeLatent: 32, vaeFactor: 8 };

type Mode = 'lines' | 'quiet' | 'json';

interface Case {
  readonly name: string;
  readonly model: ModelFacts;
  readonly method: Method;
  /** --scale N, or --width/--height. */
  readonly size: { scale: number } | { width: number; height: number };
  readonly steps: number;
  /** Expected [width, height] of every stage in pixels, stage 1 first; the last is the target. */
  readonly stages: ReadonlyArray<readonly [number, number]>;
  readonly mode: Mode;
  readonly seed?: number;
  /** undefined: the default; null: --no-negative-prompt. */
  readonly negativePrompt?: string | null;
}

const PROMPT = 'a red circle and a blue square';

const CASES: readonly Case[] = [
  { name: 'accdiffusion tiny-sdxl 2x square', model: TINY_SDXL, method: 'accdiffusion', size: { scale: 2 }, steps: 2, stages: [[256, 256], [512, 512]], mode: 'lines' },
  { name: 'accdiffusion tiny-sdxl 4x square', model: TINY_SDXL, method: 'accdiffusion', size: { scale: 4 }, steps: 1, stages: [[256, 256], [512, 512], [768, 768], [1024, 1024]], mode: 'json' },
  { name: 'accdiffusion tiny-sd 4x non-square', model: TINY_SD, method: 'accdiffusion', size: { width: 256, height: 192 }, steps: 1, stages: [[64, 48], [128, 96], [192, 144], [256, 192]], mode: 'json' },
  { name: 'demofusion tiny-sd 4x square', model: TINY_SD, method: 'demofusion', size: { scale: 4 }, steps: 1, stages: [[64, 64], [128, 128], [192, 192], [256, 256]], mode: 'quiet', seed: 123 },
  { name: 'demofusion tiny-sdxl 2x non-square', model: TINY_SDXL, method: 'demofusion', size: { width: 512, height: 384 }, steps: 2, stages: [[256, 192], [512, 384]], mode: 'quiet', negativePrompt: null },
  { name: 'multidiffusion tiny-sdxl 2x square', model: TINY_SDXL, method: 'multidiffusion', size: { scale: 2 }, steps: 2, stages: [[512, 512]], mode: 'lines', seed: 7, negativePrompt: 'ugly, blurry: bad' },
  { name: 'multidiffusion tiny-sd 4x non-square', model: TINY_SD, method: 'multidiffusion', size: { width: 256, height: 192 }, steps: 1, stages: [[256, 192]], mode: 'json' },
  { name: 'direct tiny-sdxl 2x non-square (portrait)', model: TINY_SDXL, method: 'direct', size: { width: 384, height: 512 }, steps: 2, stages: [[384, 512]], mode: 'quiet' },
  { name: 'direct tiny-sd 4x square', model: TINY_SD, method: 'direct', size: { scale: 4 }, steps: 1, stages: [[256, 256]], mode: 'lines' },
];

const staged = (m: Method) => m === 'accdiffusion' || m === 'demofusion';

/** Decoded RGB pixels of a PNG file, checking it is an 8-bit image of the expected size. */
async function decodePng(file: string, width: number, height: number, channels: number): Promise<Buffer> {
  // The file's own channel count (sharp's raw output would expand grey to sRGB).
  assert.equal((await sharp(file).metadata()).channels, channels, `${basename(file)} channels in the file`);
  const img = sharp(file);
  const { data, info } = await (channels === 1 ? img.extractChannel(0) : img).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, width, `${basename(file)} width`);
  assert.equal(info.height, height, `${basename(file)} height`);
  assert.equal(info.channels, channels, `${basename(file)} channels`);
  assert.equal(data.length, width * height * channels);
  return data;
}

function isConstant(data: Buffer): boolean {
  return data.every((v) => v === data[0]);
}

/** The expected UNet rows of stage k (1-based) of a case. */
function expectedStageCalls(c: Case, k: number): number {
  const [w, h] = c.stages[k - 1]!;
  const { nativeLatent: B, vaeFactor: f } = c.model;
  const stride = B / 2;
  if (c.method === 'direct') return 2 * c.steps;
  if (c.method === 'multidiffusion') return 2 * c.steps * windowCount(h / f, w / f, B, stride);
  if (k === 1) return 2 * c.steps;
  // Stage k is dilation factor s = k: its windows plus s² dilated sub-latents, each with a CFG pair.
  return 2 * c.steps * (windowCount(h / f, w / f, B, stride) + k * k);
}

function argsOf(c: Case, dir: string): string[] {
  const args = ['generate', '--model', c.model.path, '--method', c.method, '--prompt', PROMPT, '--steps', String(c.steps)];
  if ('scale' in c.size) args.push('--scale', String(c.size.scale));
  else args.push('--width', String(c.size.width), '--height', String(c.size.height));
  if (c.seed !== undefined) args.push('--seed', String(c.seed));
  if (c.negativePrompt === null) args.push('--no-negative-prompt');
  else if (c.negativePrompt !== undefined) args.push('--negative-prompt', c.negativePrompt);
  if (c.mode !== 'lines') args.push(`--${c.mode}`);
  args.push('--out', join(dir, 'out.png'), '--save-stages', join(dir, 'stages'), '--report', join(dir, 'report.json'), '--save-latents', join(dir, 'latents.safetensors'));
  return args;
}

for (const c of CASES) {
  test(`CLI e2e: ${c.name}`, async () => {
    const tmp = tempDir('e2e');
    try {
      const dir = tmp.dir;
      const args = argsOf(c, dir);
      const run = await runCli(args);
      assert.equal(run.code, 0, describeRun(args, run));
      const S = c.stages.length;
      const [W, H] = c.stages[S - 1]!;
      const out = join(dir, 'out.png');
      const seed = c.seed ?? 42;
      const negative = c.negativePrompt === undefined ? REFERENCE_NEGATIVE_PROMPT : c.negativePrompt;

      // --- console contract of the output mode
      if (c.mode === 'quiet') {
        assert.equal(run.stdout, '', 'stdout of --quiet');
        assert.equal(run.stderr, '', 'stderr of --quiet');
      } else if (c.mode === 'lines') {
        assert.equal(run.stdout, '', 'progress and messages go to stderr');
        assert.ok(run.stderr.includes(`wrote ${out} (${W}x${H})`), run.stderr);
        for (let k = 1; k <= S; k++) assert.ok(run.stderr.includes(`stage ${k}/${S}: ${c.stages[k - 1]![0]}x${c.stages[k - 1]![1]}, ${c.steps} ${c.steps === 1 ? 'step' : 'steps'}`), run.stderr);
      } else {
        assert.equal(run.stderr, '', 'stderr of --json');
        const lines = run.stdout.trimEnd().split('\n');
        const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
        for (const e of events) assert.equal(typeof e.type, 'string');
        const starts = events.filter((e) => e.type === 'stage-start');
        assert.deepEqual(starts.map((e) => [e.stage, e.stages, e.width, e.height, e.steps]), c.stages.map(([w, h], i) => [i + 1, S, w, h, c.steps]));
        assert.equal(events.filter((e) => e.type === 'stage-end').length, S);
        for (let k = 1; k <= S; k++) {
          assert.deepEqual(events.filter((e) => e.type === 'step' && e.stage === k).map((e) => e.step), Array.from({ length: c.steps }, (_, i) => i + 1));
        }
        // Batches of 16 windows (the default --view-batch-size) per branch and step.
        if (staged(c.method)) {
          for (let k = 2; k <= S; k++) {
            const [w, h] = c.stages[k - 1]!;
            const views = windowCount(h / c.model.vaeFactor, w / c.model.vaeFactor, c.model.nativeLatent, c.model.nativeLatent / 2);
            const batches = (branch: string) => events.filter((e) => e.type === 'window-batch' && e.stage === k && e.branch === branch && e.step === 1).map((e) => e.batches);
            assert.deepEqual(batches('patch'), Array(Math.ceil(views / 16)).fill(Math.ceil(views / 16)), `stage ${k} patch batches`);
            assert.deepEqual(batches('dilated'), Array(Math.ceil((k * k) / 16)).fill(Math.ceil((k * k) / 16)), `stage ${k} dilated batches`);
          }
        }
        const done = events[events.length - 1]!;
        assert.equal(done.type, 'done');
        assert.deepEqual([done.width, done.height], [W, H]);
        assert.equal((done.files as string[])[0], out);
      }

      // --- the final PNG: size, decodes, parameters chunk (ours and sharp's reading agree)
      const png = readFileSync(out);
      const pixels = await decodePng(out, W, H, 3);
      assert.ok(!isConstant(pixels), 'the image is not blank');
      const text = readPngTextEntry(png, 'parameters');
      assert.ok(text !== undefined, 'parameters chunk present');
      const meta = await sharp(png).metadata();
      assert.deepEqual(meta.comments?.filter((x) => x.keyword === 'parameters').map((x) => x.text), [text]);
      const p = parseParameters(text);
      assert.equal(p.prompt, PROMPT);
      assert.equal(p.negativePrompt, negative === null || negative === '' ? null : negative);
      assert.equal(p.values.get('Seed'), String(seed));
      assert.equal(p.values.get('Method'), c.method);
      assert.equal(p.values.get('Steps'), String(c.steps));
      assert.equal(p.values.get('Size'), `${W}x${H}`);
      assert.equal(p.values.get('Model'), basename(c.model.path));
      assert.equal(p.values.get('CFG scale'), '7.5');
      assert.equal(p.values.get('c'), '0.3');
      assert.equal(p.values.get('Stride'), String(c.model.nativeLatent / 2));
      assert.equal(p.values.get('Patch prompts'), c.method === 'accdiffusion' ? 'True' : 'False');
      assert.equal(p.values.get('Window interaction'), c.method === 'accdiffusion' ? 'True' : 'False');
      assert.equal(p.values.get('Reference compat'), 'False');

      // --- the report
      const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as GenerationReport;
      assert.equal(report.options.prompt, PROMPT);
      assert.equal(report.options.negativePrompt, negative);
      assert.deepEqual([report.options.width, report.options.height, report.options.method, report.options.steps, report.options.seed], [W, H, c.method, c.steps, seed]);
      assert.deepEqual(report.stages.map((s) => [s.stage, s.width, s.height]), c.stages.map(([w, h], i) => [i + 1, w, h]));
      let stageSeconds = 0;
      for (const s of report.stages) {
        for (const v of [s.seconds.denoise, s.seconds.decode]) assert.ok(Number.isFinite(v) && v >= 0, `stage ${s.stage} timing ${v}`);
        stageSeconds += s.seconds.denoise + s.seconds.decode;
        assert.equal(s.unetCalls, expectedStageCalls(c, s.stage), `UNet rows of stage ${s.stage}`);
        // The spec's closed form for square stages with the default stride.
        if (staged(c.method) && s.stage >= 2 && s.width === s.height) assert.equal(s.unetCalls, squareStageRowsPerStep(s.stage) * c.steps);
      }
      for (const v of [report.seconds.load, report.seconds.encode, report.seconds.total]) assert.ok(Number.isFinite(v) && v >= 0);
      assert.ok(report.seconds.total + 1e-6 >= stageSeconds, `total ${report.seconds.total} s covers the stages' ${stageSeconds} s`);
      assert.equal(report.unetCalls, report.stages.reduce((a, s) => a + s.unetCalls, 0));
      assert.ok(report.peakRssBytes > 32 * 2 ** 20 && report.peakRssBytes < 16 * 2 ** 30, `peak RSS ${report.peakRssBytes}`);

      // Patch prompts: one per window, words of the prompt in order (whole words with prompt weighting, the
      // default; a word the tiny vocabulary splits into pieces is one word); windows are native-size.
      const tokenizer = CLIPTokenizer.fromFolder(join(c.model.path, 'tokenizer'));
      const words = promptWords(tokenizer, PROMPT, 1);
      const pieces = words.map((w) => w.text);
      for (const s of report.stages) {
        if (c.method === 'accdiffusion' && s.stage >= 2) {
          const views = windowCount(s.height / c.model.vaeFactor, s.width / c.model.vaeFactor, c.model.nativeLatent, c.model.nativeLatent / 2);
          assert.equal(s.windows?.length, views, `windows of stage ${s.stage}`);
          assert.equal(s.windowPrompts?.length, views);
          for (const w of s.windows!) assert.deepEqual([w.height, w.width], [c.model.nativeLatent, c.model.nativeLatent]);
          for (const wp of s.windowPrompts!) {
            const kept = wp.split(' ').filter((x) => x !== '');
            assert.ok(isSubsequence(kept, pieces), `window prompt "${wp}" is not drawn from [${pieces.join(' | ')}]`);
          }
        } else {
          assert.equal(s.windowPrompts, undefined, `no window prompts in stage ${s.stage} of ${c.method}`);
        }
      }

      // --- --save-stages: exactly the expected files
      const stagesDir = join(dir, 'stages');
      const expectedFiles = c.stages.map((_, i) => `stage-${i + 1}.png`);
      if (c.method === 'accdiffusion') {
        words.forEach((w) => expectedFiles.push(maskFileName({ index: w.columns[0]!, token: w.plain, width: 0, height: 0, mask: new Uint8Array() })));
        for (let k = 2; k <= S; k++) expectedFiles.push(`patch-prompts-stage-${k}.png`);
      }
      assert.deepEqual(readdirSync(stagesDir).sort(), expectedFiles.sort());
      const stageImages: Buffer[] = [];
      for (let k = 1; k <= S; k++) {
        const [w, h] = c.stages[k - 1]!;
        stageImages.push(await decodePng(join(stagesDir, `stage-${k}.png`), w, h, 3));
      }
      assert.ok(stageImages[S - 1]!.equals(pixels), 'the final image is the last stage\'s');
      if (c.method === 'accdiffusion') {
        const [w1, h1] = c.stages[0]!;
        for (const f of expectedFiles.filter((n) => n.startsWith('mask-'))) {
          const m = await decodePng(join(stagesDir, f), w1, h1, 1);
          assert.ok(m.every((v) => v === 0 || v === 255), `${f} is binary`);
        }
        for (let k = 2; k <= S; k++) {
          const [w, h] = c.stages[k - 1]!;
          const map = await decodePng(join(stagesDir, `patch-prompts-stage-${k}.png`), w, h, 3);
          assert.ok(!map.equals(stageImages[k - 1]!), `patch-prompt map of stage ${k} draws over the image`);
        }
      }

      // --- --save-latents
      const latents = loadSafetensors(join(dir, 'latents.safetensors'));
      assert.deepEqual([...latents.keys()].sort(), ['latents', ...c.stages.map((_, i) => `stage_${i + 1}`)].sort());
      c.stages.forEach(([w, h], i) => {
        assert.deepEqual(latents.get(`stage_${i + 1}`)!.shape, [1, 4, h / c.model.vaeFactor, w / c.model.vaeFactor]);
      });
      const final = latents.get('latents')!;
      assert.deepEqual(final.shape, [1, 4, H / c.model.vaeFactor, W / c.model.vaeFactor]);
      assert.deepEqual(final.data, latents.get(`stage_${S}`)!.data);
      assert.ok((final.data as Float32Array).every(Number.isFinite), 'finite latents');
    } finally {
      tmp.remove();
    }
  });
}

test('CLI e2e: refuses to overwrite an existing --out without --force (exit 2, one line, file untouched)', async () => {
  const tmp = tempDir('e2e-refuse');
  try {
    const out = join(tmp.dir, 'out.png');
    writeFileSync(out, 'keep me');
    const args = ['generate', '--model', tinySd, '--prompt', PROMPT, '--scale', '2', '--steps', '1', '--out', out];
    const run = await runCli(args);
    assert.equal(run.code, 2, describeRun(args, run));
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^error: .*already exists \(use --force to overwrite\)\n$/);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
  } finally {
    tmp.remove();
  }
});

test('CLI e2e: a model folder that does not exist is one error line (exit 2), nothing written', async () => {
  const tmp = tempDir('e2e-nomodel');
  try {
    const out = join(tmp.dir, 'out.png');
    const args = ['generate', '--model', join(tmp.dir, 'no-such-model'), '--prompt', PROMPT, '--out', out, '--json'];
    const run = await runCli(args);
    assert.equal(run.code, 2, describeRun(args, run));
    assert.equal(run.stderr.split('\n').filter((l) => l !== '').length, 1, run.stderr);
    assert.match(run.stderr, /^error: /);
    // --json reports the error as its last line too.
    const last = JSON.parse(run.stdout.trimEnd().split('\n').pop()!) as { type: string; message: string };
    assert.equal(last.type, 'error');
    assert.ok(!existsSync(out));
    assert.deepEqual(readdirSync(tmp.dir), []);
  } finally {
    tmp.remove();
  }
});

test('CLI e2e: SIGINT during a run stops at the next step, writes nothing, exit 130', async () => {
  const tmp = tempDir('e2e-sigint');
  try {
    const out = join(tmp.dir, 'out.png');
    const args = ['generate', '--model', tinySdxl, '--prompt', PROMPT, '--scale', '2', '--steps', '3', '--json',
      '--out', out, '--report', join(tmp.dir, 'r.json'), '--save-latents', join(tmp.dir, 'l.safetensors'), '--save-stages', join(tmp.dir, 'stages')];
    let sent = false;
    const run = await runCli(args, {
      onStdoutLine: (line, child) => {
        // Interrupt during the first stage, once the first step is done.
        if (!sent && (JSON.parse(line) as { type: string }).type === 'step') {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(sent, describeRun(args, run));
    assert.equal(run.code, 130, describeRun(args, run));
    assert.match(run.stderr, /interrupted: nothing was written/);
    const events = run.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { type: string; stage?: number; interrupted?: boolean });
    // No later stage started: the abort took effect at a step boundary of stage 1.
    assert.ok(!events.some((e) => e.type === 'stage-start' && e.stage === 2), 'stage 2 never started');
    assert.deepEqual(events[events.length - 1]!.type, 'error');
    assert.equal(events[events.length - 1]!.interrupted, true);
    assert.deepEqual(readdirSync(tmp.dir), [], 'no output and no temporary file left');
  } finally {
    tmp.remove();
  }
});

test('CLI e2e: info describes the fixture models (family, native size, components, parameter counts)', async () => {
  for (const [model, facts, pipelineClass] of [[tinySd, TINY_SD, 'StableDiffusionPipeline'], [tinySdxl, TINY_SDXL, 'StableDiffusionXLPipeline']] as const) {
    const args = ['info', '--model', model, '--json'];
    const run = await runCli(args);
    assert.equal(run.code, 0, describeRun(args, run));
    const info = JSON.parse(run.stdout) as {
      pipelineClass: string; nativeSize: number; nativeLatentSize: number; vaeScaleFactor: number;
      components: Array<{ name: string; parameters: number; dtypes: string[] }>; devices: string[];
    };
    assert.equal(info.pipelineClass, pipelineClass);
    assert.ok(info.devices.includes('cpu'));
    assert.deepEqual([info.nativeSize, info.nativeLatentSize, info.vaeScaleFactor], [facts.nativeLatent * facts.vaeFactor, facts.nativeLatent, facts.vaeFactor]);
    const unet = info.components.find((x) => x.name === 'unet');
    assert.ok(unet && unet.parameters > 0 && unet.dtypes.includes('F32'), JSON.stringify(unet));
    // The parameter count of the UNet equals the sum of its safetensors tensor sizes.
    const weights = loadSafetensors(join(model, 'unet', 'diffusion_pytorch_model.safetensors'));
    assert.equal(unet.parameters, [...weights.values()].reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0));
  }
});
