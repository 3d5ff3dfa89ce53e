/**
 * Determinism (issue 5): the same options and seed give a bit-identical PNG, run after run — two real CLI runs
 * on tiny-sdxl (AccDiffusion, --scale 2, --steps 2) compared byte for byte. The prompt is longer than CLIP's 77
 * tokens and read literally (--no-prompt-weighting, diffusers' way), so the same runs also show that generation
 * proceeds and one warning names the words that were cut (once, not once per tokenizer; issue 11 §6).
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIPTokenizer } from '../../src/tokenizers/clip-tokenizer.js';
import { tinySdxl } from '../helpers/paths.js';
import { runCli as runShared } from '../cli/e2e-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'accdiffusion-determinism-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The shared CLI runner with this file's time limit. */
const runCli = (args: readonly string[]) => runShared(args, { timeoutMs: 170_000 });

// 80 × "red" is already past the 75 text tokens: the tail is cut.
const PROMPT = `a photo of ${'red '.repeat(80)}purple elephant umbrella`;

test('same options and seed: bit-identical PNGs; a >77-token prompt is cut with a warning naming the cut words', { timeout: 360_000 }, async () => {
  const outs = [join(dir, 'a.png'), join(dir, 'b.png')];
  const runs = [];
  for (const out of outs) {
    runs.push(await runCli(['generate', '--model', tinySdxl, '--prompt', PROMPT, '--method', 'accdiffusion', '--scale', '2', '--steps', '2', '--seed', '7', '--no-prompt-weighting', '--out', out]));
  }
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const [a, b] = outs.map((f) => readFileSync(f));
  assert.ok(a!.subarray(1, 4).toString() === 'PNG' && a!.length > 1000, 'a PNG was written');
  assert.ok(a!.equals(b!), `the two PNGs differ (${a!.length} and ${b!.length} bytes)`);

  // diffusers' truncation warning, once for the prompt (SDXL has two tokenizers), naming the cut tail; window
  // prompts built from its pieces may warn separately, without quoting text the user never typed
  const lines = runs[0]!.stderr.split('\n').filter((l) => l.startsWith('warning:'));
  const warnings = lines.filter((l) => l.includes('truncated because'));
  assert.equal(warnings.length, 1, runs[0]!.stderr);
  for (const l of lines.filter((x) => !warnings.includes(x))) assert.match(l, /window prompts? that AccDiffusion built .*\(your prompt itself was not cut\)$/);
  for (const w of warnings) {
    assert.match(w, /truncated because CLIP can only handle sequences up to 77 tokens: (red )+purple elephant umbrella$/);
    // what was kept is not in the message: of the 75 text tokens, "a photo of" takes its share and the rest
    // holds whole "red"s (the tiny vocabulary splits words into several pieces; count them with the tokenizer)
    const tok = CLIPTokenizer.fromFolder(join(tinySdxl, 'tokenizer'));
    const pieces = (text: string) => tok.encode(text).length - 2;
    const kept = Math.floor((75 - pieces('a photo of')) / pieces('red'));
    assert.equal(w.split(': ').pop()!.split(' ').filter((x) => x === 'red').length, 80 - kept, w);
  }
});
