/**
 * AccDiffusion's words with weights and chunks (docs/accdiffusion-algorithm.md §3.5): a word split into several
 * BPE pieces, or across two chunks, is one word whose map is the mean of its pieces' key columns; weights do not
 * change which windows get a word; a window prompt joining kept words re-parses to the user's tokens and weights.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CLIPTokenizer } from '../../src/tokenizers/clip-tokenizer.js';
import { promptChunks } from '../../src/prompts/prompt-chunks.js';
import { parsePromptAttention } from '../../src/prompts/prompt-attention.js';
import { promptWords } from '../../src/prompts/prompt-words.js';
import { patchPrompts, thresholdMask } from '../../src/patch/patch-prompts.js';
import { mdViews } from '../../src/patch/views.js';
import { opening } from '../../src/tensor/ops.js';
import { tinySdxl } from '../helpers/paths.js';

const tok = CLIPTokenizer.fromFolder(join(tinySdxl, 'tokenizer'));
const tokens = (p: string) => promptChunks(tok, p, true).chunks.flat();

test('words: pieces of one word are one word, with their columns, weight and A1111 text', () => {
  // tiny vocabulary: "red" = "r" + "ed</w>", "sun" = "su" + "n</w>"
  const w = promptWords(tok, 'a (red:1.5) [cat], \\(sun\\)', 1);
  assert.deepEqual(w.map((x) => [x.plain, x.weight, x.columns]), [
    ['a', 1, [1]], ['red', 1.5, [2, 3]], ['cat', 1 / 1.1, [4]], [',', 1, [5]], ['(', 1, [6]], ['sun', 1, [7, 8]], [')', 1, [9]],
  ]);
  assert.deepEqual(w.map((x) => x.text), ['a', '(red:1.5)', '(cat:0.9090909090909091)', ',', '\\(', 'sun', '\\)']);
  // a bracket inside a word splits it (A1111 tokenises each weighted run on its own): two words
  assert.deepEqual(promptWords(tok, 'su(n:2)', 1).map((x) => [x.plain, x.weight]), [['su', 1], ['n', 2]]);
});

test('words: a word whose pieces straddle two chunks is one word with a column in each chunk', () => {
  const prompt = `${'a '.repeat(74)}sun hat`;
  assert.equal(tokens(prompt).length, 77);
  const w = promptWords(tok, prompt, 2);
  assert.equal(w.length, 76);
  assert.deepEqual(w[74], { text: 'sun', plain: 'sun', weight: 1, columns: [75, 78] }); // "su" ends chunk 1, "n</w>" opens chunk 2
  assert.deepEqual(w[75]!.columns, [79]);
  // capped at one chunk: the word's first piece is kept, its columns stay inside the kept chunk
  assert.deepEqual(promptWords(tok, prompt, 1).slice(-1)[0]!.columns, [75]);
});

test('window prompts of kept words re-parse to the same tokens with the same weights', () => {
  const prompt = 'a ((red)) [cat], (sun:0) on \\(a hat:-2\\) (big:1e3) 42';
  const w = promptWords(tok, prompt, 1);
  const user = tokens(prompt);
  assert.deepEqual(tokens(w.map((x) => x.text).join(' ')), user);
  // any subset keeps each word's weight
  const kept = w.filter((_, i) => i % 2 === 0);
  assert.deepEqual(tokens(kept.map((x) => x.text).join(' ')), kept.flatMap((x) => x.columns.map((c) => user[c - 1]!)));
});

test('weights do not change which windows get a word; a multi-piece word uses the mean of its columns', () => {
  const h = 8, wd = 8, keys = 154;
  const plan = mdViews({ latentHeight: 64, latentWidth: 64, baseLatent: 32 });
  const att = new Float32Array(h * wd * keys);
  // deterministic spatial patterns per key column
  for (let q = 0; q < h * wd; q++) for (let k = 0; k < keys; k++) att[q * keys + k] = Math.abs(Math.sin(q * 0.37 * (k + 1) + k));
  const run = (prompt: string) => {
    const w = promptWords(tok, prompt, 2);
    return { w, r: patchPrompts({ attention: att, attentionHeight: h, attentionWidth: wd, pieces: w.map((x) => x.text), pieceColumns: w.map((x) => x.columns), c: 0.3, stages: [{ scale: 2, plan }] }) };
  };
  const plain = run('a red cat under the sun');
  const weighted = run('a (red:1.8) [[cat]] under the (sun:0)');
  assert.deepEqual(weighted.r.stages[0]!.ratios, plain.r.stages[0]!.ratios);
  assert.deepEqual(weighted.r.masks.map((m) => Array.from(m.mask)), plain.r.masks.map((m) => Array.from(m.mask)));
  const strip = (p: string) => parsePromptAttention(p).map((s) => s.text).join('');
  assert.deepEqual(weighted.r.stages[0]!.prompts.map(strip), plain.r.stages[0]!.prompts);
  assert.ok(weighted.r.stages[0]!.prompts.some((p) => p.includes('(red:1.8)')), 'some window keeps "red" with its weight');
  // "red" (columns 2, 3): its mask is the opening of (mean of the two columns > its mean)
  const red = plain.r.masks[1]!;
  const mean = Float32Array.from({ length: h * wd }, (_, q) => (att[q * keys + 2]! + att[q * keys + 3]!) / 2);
  assert.deepEqual(Array.from(red.mask), Array.from(opening(thresholdMask(mean), h, wd, 0)));
  assert.notDeepEqual(Array.from(red.mask), Array.from(opening(thresholdMask(Float32Array.from({ length: h * wd }, (_, q) => att[q * keys + 2]!)), h, wd, 0)));
  assert.throws(() => patchPrompts({ attention: att, attentionHeight: h, attentionWidth: wd, pieces: ['x'], pieceColumns: [[154]], c: 0.3, stages: [] }), /key columns below 154/);
});
