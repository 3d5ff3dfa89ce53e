/**
 * Weighted and chunked prompt encoding on the tiny models, against hand computations from the literal
 * (diffusers) encoding: A1111's emphasis (scale each token's hidden state by its weight, then restore the
 * chunk's mean, per text encoder), chunks of 75 tokens whose first equals the 75-token prompt, the negative
 * prompt padded with chunks of "", the pooled vector of the first chunk, and the cut warning.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type { CachedPromptEncoder, EncodeMode } from '../../src/prompts/prompt-encoder.js';
import { createPromptEncoder } from '../../src/loading/text-encoders.js';
import { maxAbsDiff, type Tensor } from '../../src/tensor/tensor.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const W = (chunks: number): EncodeMode => ({ weighting: true, chunks });
/** Rows [from, to) of a [1, S, D] tensor as a flat array. */
const rows = (t: Tensor, from: number, to: number): Float32Array => t.data.slice(from * t.shape[2]!, to * t.shape[2]!);
const diff = (a: Float32Array, b: Float32Array): number => maxAbsDiff({ data: a, shape: [a.length] }, { data: b, shape: [b.length] });

/** A1111's "Original" emphasis by hand, in float64, on one encoder's feature slice [lo, hi) of [S, D]. */
function handEmphasis(z: Float32Array, D: number, lo: number, hi: number, weights: number[]): Float64Array {
  const S = weights.length;
  const out = new Float64Array(S * (hi - lo));
  let before = 0, after = 0;
  for (let s = 0; s < S; s++) for (let d = lo; d < hi; d++) {
    before += z[s * D + d]!;
    after += z[s * D + d]! * weights[s]!;
  }
  // mean(z) / mean(z·w): both means over S·(hi − lo) values
  for (let s = 0; s < S; s++) for (let d = lo; d < hi; d++) out[s * (hi - lo) + d - lo] = z[s * D + d]! * weights[s]! * (before / after);
  return out;
}

for (const [name, dir, slices] of [['tiny-sd', tinySd, [[0, 32]]], ['tiny-sdxl', tinySdxl, [[0, 32], [32, 64]]]] as const) {
  test(`${name}: emphasis = weight × hidden state × (mean before / mean after), per text encoder`, async () => {
    const enc = await createPromptEncoder(dir, { threads: 1 });
    try {
      const literal = await enc.encode(['a red cat']);
      const weighted = await enc.encode(['a (red:1.5) [cat]'], undefined, W(1));
      const D = enc.embedDim;
      assert.equal(D, slices[slices.length - 1]![1]);
      const tok = enc.parts[0]!.tokenizer;
      assert.deepEqual(tok.encode('a red cat').length, 6, 'bos a r ed cat eos');
      // BOS, "a", "r", "ed" (the two pieces of "red"), "cat", EOS, padding
      const weights = [1, 1, 1.5, 1.5, 1 / 1.1, ...new Array<number>(72).fill(1)];
      const z = literal.promptEmbeds.data;
      for (const [lo, hi] of slices) {
        const want = handEmphasis(z, D, lo, hi, weights);
        let worst = 0;
        for (let s = 0; s < 77; s++) for (let d = lo; d < hi; d++) worst = Math.max(worst, Math.abs(weighted.promptEmbeds.data[s * D + d]! - want[s * (hi - lo) + d - lo]!));
        assert.ok(worst < 2e-6, `slice [${lo}, ${hi}): max abs diff ${worst}`);
        // the restore factor is not 1: unweighted positions moved too
        assert.ok(Math.abs(weighted.promptEmbeds.data[lo]! - z[lo]!) > 0 || Math.abs(weighted.promptEmbeds.data[D + lo]! - z[D + lo]!) > 0);
      }
      // the pooled vector is not weighted (A1111 takes it before the emphasis)
      if (literal.pooled) assert.ok(diff(weighted.pooled!.data, literal.pooled.data) < 1e-6);
      // weight 1 everywhere (no brackets, or an explicit :1) is the literal encoding bit for bit
      for (const p of ['a red cat', '(a:1) red cat']) assert.equal(diff((await enc.encode([p], undefined, W(1))).promptEmbeds.data, z), 0, p);
      // escaped brackets are literal characters: the same ids as the literal reading of "(a) red cat"
      const esc = await enc.encode(['\\(a\\) red cat'], undefined, W(1));
      assert.ok(diff(esc.promptEmbeds.data, (await enc.encode(['(a) red cat'])).promptEmbeds.data) < 1e-6);
    } finally {
      await enc.release();
    }
  });
}

/** `n` words of one token each with the tiny tokenizers ("a", "photo", "of", "cat", "hat", "the"). */
function words(n: number, from = 0): string {
  const w = ['a', 'photo', 'of', 'cat', 'hat', 'the'];
  return Array.from({ length: n }, (_, i) => w[(from + i) % w.length]).join(' ');
}

async function withEncoder(dir: string, onWarning: (m: string) => void, f: (enc: CachedPromptEncoder) => Promise<void>): Promise<void> {
  const enc = await createPromptEncoder(dir, { threads: 1, onWarning });
  try {
    await f(enc);
  } finally {
    await enc.release();
  }
}

test('tiny-sdxl chunks: a 150-token prompt is 2 chunks whose first equals the 75-token prompt; negative padded with ""; pooled of chunk 1', async () => {
  const warnings: string[] = [];
  await withEncoder(tinySdxl, (m) => warnings.push(m), async (enc) => {
    const p150 = words(150), p75 = words(75), tail = words(75, 75);
    for (const part of enc.parts) assert.equal(part.tokenizer.encode(p150).length, 152);
    assert.deepEqual([enc.chunksFor(p150), enc.chunksFor(p75), enc.chunksFor(words(76)), enc.chunksFor('')], [2, 1, 2, 1]);
    const long = await enc.encode([p150], undefined, W(2));
    assert.deepEqual(long.promptEmbeds.shape, [1, 154, 64]);
    const first = await enc.encode([p75]); // diffusers' literal encoding, one chunk of 77
    const second = await enc.encode([tail]);
    assert.ok(diff(rows(long.promptEmbeds, 0, 77), first.promptEmbeds.data) < 1e-6, 'chunk 1 = the 75-token prompt');
    assert.ok(diff(rows(long.promptEmbeds, 77, 154), second.promptEmbeds.data) < 1e-6, 'chunk 2 = the rest, with its own BOS/EOS');
    assert.ok(diff(long.pooled!.data, first.pooled!.data) < 1e-6, 'pooled = the first chunk\'s');
    assert.ok(diff(rows(long.promptEmbeds, 0, 77), rows(long.promptEmbeds, 77, 154)) > 1e-3);
    // the negative prompt is padded to the same chunk count with the encoding of ""
    const neg = await enc.encodeNegative(1, ['blurry'], undefined, W(2));
    assert.deepEqual(neg.promptEmbeds.shape, [1, 154, 64]);
    assert.ok(diff(rows(neg.promptEmbeds, 0, 77), (await enc.encode(['blurry'])).promptEmbeds.data) < 1e-6);
    assert.ok(diff(rows(neg.promptEmbeds, 77, 154), (await enc.encode([''])).promptEmbeds.data) < 1e-6);
    // no negative prompt on SDXL (force_zeros_for_empty_prompt): zeros of the full length
    const zeros = await enc.encodeNegative(1, undefined, undefined, W(2));
    assert.deepEqual(zeros.promptEmbeds.shape, [1, 154, 64]);
    assert.ok(zeros.promptEmbeds.data.every((v) => v === 0));
    assert.deepEqual(warnings, []);
    // capped at one chunk: the user is told, once (not once per encoder), in the words of the prompt
    const capped = await enc.encode([p150], undefined, W(1));
    assert.ok(diff(capped.promptEmbeds.data, first.promptEmbeds.data) < 1e-6);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0], `Your prompt has 150 tokens; only the first 75 (1 chunk of 75, --max-prompt-chunks) are used. Cut: ${tail}`);
    await enc.encodeNegative(1, [words(150, 1)], undefined, { ...W(1), source: 'negative' });
    assert.match(warnings.pop()!, /^Your negative prompt has 150 tokens; only the first 75 /);
    // window prompts that are cut do not blame the user and show none of their text
    await enc.encode([`${p150} hat`], undefined, { ...W(1), source: 'window' });
    assert.equal(warnings.length, 2);
    assert.match(warnings[1]!, /^1 distinct window prompt that AccDiffusion built from the words of your prompt re-tokenises to more than 75 tokens and was cut there \(your prompt itself was not cut\)$/);
  });
});

test('tiny-sd: a BREAK starts a new chunk; weights inside a later chunk use that chunk\'s own mean', async () => {
  await withEncoder(tinySd, () => {}, async (enc) => {
    assert.equal(enc.chunksFor('a cat BREAK a hat'), 2);
    const r = await enc.encode(['a cat BREAK (a hat:2)'], undefined, W(2));
    const c1 = await enc.encode(['a cat']);
    const c2 = await enc.encode(['(a hat:2)'], undefined, W(1));
    assert.ok(diff(rows(r.promptEmbeds, 0, 77), c1.promptEmbeds.data) < 1e-6);
    assert.ok(diff(rows(r.promptEmbeds, 77, 154), c2.promptEmbeds.data) < 1e-6);
    // literal mode keeps diffusers' single chunk and refuses more
    await assert.rejects(enc.encode(['a'], undefined, { weighting: false, chunks: 2 }), /literal prompts have one chunk/);
  });
});
