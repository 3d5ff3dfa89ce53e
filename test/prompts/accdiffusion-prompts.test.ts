/**
 * AccDiffusion end to end on tiny-sd (2x, 2 steps, c = 0 so every word enters every window) with a prompt
 * longer than 75 tokens (issue 12; issue 11 §6):
 * - weighted (default): no warning; two chunks; one mask per word (a multi-piece word once); every window prompt
 *   re-parses to exactly the user's tokens with the user's weights;
 * - literal (--no-prompt-weighting): diffusers' truncation warning once, naming only text of the user's prompt;
 *   window prompts that re-tokenise past 77 tokens give at most one warning per stage that shows none of their
 *   text and says the user's prompt was not cut.
 * And tiny-sdxl direct inference: identical latents in both modes for a short plain prompt; past 75 tokens only
 * the chunked reading sees the tail.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { generate } from '../../src/pipeline/generate.js';
import { Components } from '../../src/loading/components.js';
import type { GenerateOptions } from '../../src/options/index.js';
import { promptChunks } from '../../src/prompts/prompt-chunks.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

// weighted and multi-piece words ("red" = "r" + "ed", "sun" = "su" + "n"), then 96 one-token words
const PROMPT = `(red sun:1.4) [hat] ${'a photo of the cat hat '.repeat(16).trim()}`;

test('tiny-sd accdiffusion with a long weighted prompt: chunks, per-word masks, window prompts keep weights; warnings blame no one wrongly', async (t) => {
  const warnings: string[] = [];
  const components = await Components.load(tinySd, { threads: 1, onWarning: (m) => warnings.push(m) });
  try {
    const tok = components.tokenizer;
    const user = promptChunks(tok, PROMPT, true).chunks.flat();
    assert.equal(user.length, 96 + 5); // 96 words + r ed su n + hat
    const base: GenerateOptions = { prompt: PROMPT, width: 128, height: 128, steps: 2, seed: 5, c: 0, negativePrompt: 'blurry' };

    const weighted = await generate(components, base);
    assert.equal(warnings.length, 0, warnings.join("\n"));
    assert.equal(weighted.masks.length, 96 + 3, 'one mask per word: "red" and "sun" once each');
    assert.deepEqual(weighted.masks.slice(0, 4).map((m) => [m.token, m.index]), [['red', 1], ['sun', 3], ['hat', 5], ['a', 6]]);
    // 75 tokens in chunk 1 (columns 1..75), the rest from column 77 + 1: the 76th token at 78
    assert.deepEqual(weighted.masks.slice(72, 74).map((m) => m.index), [75, 78]);
    const windows = weighted.stages[1]!.windowPrompts!;
    assert.ok(windows.length > 1);
    for (const w of windows) assert.deepEqual(promptChunks(tok, w, true).chunks.flat(), user);

    const literal = await generate(components, { ...base, promptWeighting: false });
    const cut = warnings.filter((m) => m.includes('truncated because'));
    assert.equal(cut.length, 1, warnings.join('\n'));
    assert.equal(cut[0], `The following part of your input was truncated because CLIP can only handle sequences up to 77 tokens: ${tok.encodePadded(PROMPT).truncatedText!}`);
    assert.ok(cut[0]!.endsWith('the cat hat'));
    const others = warnings.filter((m) => !m.includes('truncated because'));
    assert.ok(others.length <= 1, others.join('\n'));
    // the literal window prompts are the reference's: 75 pieces joined by spaces, re-tokenised ("r ed" is longer)
    const lw = literal.stages[1]!.windowPrompts!;
    const over = new Set(lw.filter((p) => tok.encode(p).length > 77)).size;
    assert.ok(over > 0, 'the literal window prompts are longer than the prompt they came from');
    assert.match(others[0]!, new RegExp(`^${over} distinct window prompts? that AccDiffusion built from the words of your prompt .* \\(your prompt itself was not cut\\)$`));
    t.diagnostic(`literal: ${over} of ${lw.length} window prompts re-tokenise past 77 tokens; ${others.length} window warning(s)`);
    for (const m of others) for (const p of lw) assert.ok(!m.includes(p));
    assert.equal(literal.masks.length, 75, 'literal: one mask per BPE piece, 75 at most');
  } finally {
    await components.dispose();
  }
});

test('tiny-sdxl direct: a short bracket-free prompt gives the same latents in both modes; a long one uses its tail only when chunked', async () => {
  const components = await Components.load(tinySdxl, { threads: 1, onWarning: () => {} });
  try {
    const base: GenerateOptions = { prompt: 'a red circle', width: 256, height: 256, steps: 2, seed: 3, method: 'direct', negativePrompt: null };
    const latents = async (o: Partial<GenerateOptions>) => (await generate(components, { ...base, ...o })).stages[0]!.latents;
    assert.equal(maxAbsDiff(await latents({}), await latents({ promptWeighting: false })), 0);
    // 80 tokens: the literal reading never sees the last words; the chunked one does (zeros negative, 2 chunks)
    const long = `${'a photo of the cat hat '.repeat(13).trim()} a cat`;
    const tail = `${long} (sun:1.5)`;
    assert.equal(maxAbsDiff(await latents({ prompt: long, promptWeighting: false }), await latents({ prompt: `${long} sun`, promptWeighting: false })), 0);
    const d = maxAbsDiff(await latents({ prompt: long }), await latents({ prompt: tail }));
    assert.ok(d > 1e-4, `the words past 75 tokens change the result when chunked (${d})`);
  } finally {
    await components.dispose();
  }
});
