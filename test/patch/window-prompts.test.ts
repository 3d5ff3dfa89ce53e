/**
 * Caller-supplied window prompts (issue 15 "steer it"): GenerateOptions.windowPrompts and the
 * reviewWindowPrompts hook replace the prompts AccDiffusion chose, leave the native pass alone, are recorded
 * in the report, and give bit-identical results to each other (so a page-steered run replays from the CLI's
 * --window-prompts); wrong counts and methods without patch prompts are refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseArgs } from '../../src/cli/args.js';
import { readWindowPromptsFile } from '../../src/cli/window-prompts-file.js';
import { OptionsError } from '../../src/errors.js';
import type { Pipeline } from '../../src/pipeline/pipeline-api.js';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import type { GenerateResult } from '../../src/pipeline/result.js';
import { applyWindowPrompts, type WindowPrompts, type WindowPromptsReview } from '../../src/patch/window-prompts.js';
import { tinySdxl } from '../helpers/paths.js';

const base = { prompt: 'a red circle and a blue square', width: 512, height: 512, steps: 2, seed: 7 } as const;

describe('window prompts supplied by the caller', () => {
  let pipe: Pipeline;
  let plain: GenerateResult;
  let computed: string[];
  let edited: string[];
  let viaOption: GenerateResult;
  before(async () => {
    pipe = await loadPipeline(tinySdxl, { threads: 1 });
    plain = await pipe.generate(base);
    computed = [...plain.stages[1]!.windowPrompts!];
    edited = computed.map((p, i) => (i === 0 ? 'a blue square' : p));
    viaOption = await pipe.generate({ ...base, windowPrompts: { 2: edited } });
  });
  after(async () => pipe?.dispose());

  it('replace the stage\'s prompts, keep the native pass, change the image and are recorded', () => {
    assert.equal(computed.length, 9);
    assert.notEqual(computed[0], 'a blue square');
    assert.equal(plain.report.options.windowPrompts, undefined, 'nothing recorded when nobody chose prompts');
    assert.deepEqual(viaOption.stages[1]!.windowPrompts, edited);
    assert.deepEqual(viaOption.report.stages[1]!.windowPrompts, edited);
    assert.deepEqual(viaOption.report.options.windowPrompts, { 2: edited });
    assert.deepEqual(viaOption.stages[0]!.latents.data, plain.stages[0]!.latents.data, 'the native pass is the same');
    assert.notDeepEqual(viaOption.image.rgb, plain.image.rgb);
  });

  it('the review hook sees the native pass and its edits give the same image as the option', async () => {
    let seen: WindowPromptsReview | undefined;
    const viaHook = await pipe.generate(base, {
      reviewWindowPrompts: async (review) => {
        seen = review;
        return { 2: edited };
      },
    });
    assert.ok(seen);
    assert.equal(seen.nativeImage.width, 256);
    assert.equal(seen.nativeImage.rgb.length, 256 * 256 * 3);
    assert.deepEqual(seen.stages.map((s) => [s.stage, s.latentWidth, s.windows.length]), [[2, 64, 9]]);
    assert.deepEqual(seen.stages[0]!.prompts, computed);
    assert.deepEqual(seen.masks.map((m) => m.token), plain.masks.map((m) => m.token));
    assert.deepEqual(viaHook.report.options.windowPrompts, { 2: edited });
    assert.deepEqual(viaHook.image.rgb, viaOption.image.rgb, 'steering through the hook = the CLI\'s --window-prompts');
  });

  it('refuses wrong window counts, unknown stages and methods without patch prompts', async () => {
    const windows = () => new Map([[2, { views: [{ hStart: 0, hEnd: 32, wStart: 0, wEnd: 32 }, { hStart: 0, hEnd: 32, wStart: 16, wEnd: 48 }], padding: 0, prompts: ['a', 'b'] }]]);
    assert.throws(() => applyWindowPrompts(windows(), { 2: ['only one'] }), (e: unknown) => e instanceof OptionsError && /stage 2 has 2 windows, got 1 prompts/.test(e.message));
    assert.throws(() => applyWindowPrompts(windows(), { 3: ['x', 'y'] }), (e: unknown) => e instanceof OptionsError && /no windows at stage 3 \(stages with windows: 2\)/.test(e.message));
    const ok = windows();
    applyWindowPrompts(ok, { 2: ['x', 'y'] });
    assert.deepEqual(ok.get(2)!.prompts, ['x', 'y']);
    // Through the pipeline: checked before any work, or right after the native pass.
    await assert.rejects(pipe.generate({ ...base, method: 'demofusion', windowPrompts: { 2: edited } }), (e: unknown) => e instanceof OptionsError && /need method accdiffusion/.test(e.message));
    await assert.rejects(pipe.generate({ ...base, windowPrompts: { 2: [1, 2] } as unknown as WindowPrompts }), OptionsError);
    await assert.rejects(pipe.generate({ ...base, steps: 1, windowPrompts: { 2: ['only one'] } }), (e: unknown) => e instanceof OptionsError && /stage 2 has 9 windows, got 1 prompts/.test(e.message));
  });
});

describe('--window-prompts FILE.json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accd-wp-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads window prompts, or a report\'s, and refuses anything else in one line', () => {
    const file = join(dir, 'wp.json');
    writeFileSync(file, JSON.stringify({ 2: ['a', 'b'] }));
    const cmd = parseArgs(['generate', '--prompt', 'x', '--window-prompts', file], { cwd: dir });
    assert.equal(cmd.command, 'generate');
    assert.deepEqual(cmd.command === 'generate' && cmd.windowPrompts, { 2: ['a', 'b'] });
    const report = join(dir, 'report.json');
    writeFileSync(report, JSON.stringify({ options: { windowPrompts: { 3: ['c'] } }, stages: [] }));
    assert.deepEqual(readWindowPromptsFile('--window-prompts', report), { 3: ['c'] });
    // a plain run's report: the prompts each stage recorded (what the run chose from its masks)
    writeFileSync(report, JSON.stringify({ options: { method: 'accdiffusion' }, stages: [{ stage: 1 }, { stage: 2, windowPrompts: ['a', 'b'] }, { stage: 3, windowPrompts: ['c', 'd', 'e'] }] }));
    assert.deepEqual(readWindowPromptsFile('--window-prompts', report), { 2: ['a', 'b'], 3: ['c', 'd', 'e'] });
    for (const [content, message] of [['{nope', /not valid JSON/], ['[1]', /must be an object/], ['{"x": []}', /"x" is not a stage number/], ['{"2": [3]}', /list of strings/], ['{"options": {}}', /a report without window prompts/]] as const) {
      writeFileSync(file, content);
      assert.throws(() => parseArgs(['generate', '--prompt', 'x', '--window-prompts', file], { cwd: dir }), (e: unknown) => e instanceof OptionsError && message.test(e.message), content);
    }
    assert.throws(() => parseArgs(['generate', '--prompt', 'x', '--window-prompts', 'missing.json'], { cwd: dir }), /does not exist/);
  });
});
