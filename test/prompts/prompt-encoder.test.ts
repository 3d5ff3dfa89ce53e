import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CachedPromptEncoder, promptEncodingRecipe, type TextEncoderPart } from '../../src/prompts/prompt-encoder.js';
import { createPromptEncoder } from '../../src/loading/text-encoders.js';
import { ConfigError, OptionsError } from '../../src/errors.js';
import { maxAbsDiff, type Tensor } from '../../src/tensor/tensor.js';
import { oracleF32, oracleJson } from '../helpers/oracle.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const TOL = 1e-4;
const prompts = (rel: string): string[] => (oracleJson(`${rel}/tokens`).tokenizer as Array<{ prompt: string }>).map((e) => e.prompt);

function close(got: Tensor | undefined, rel: string, name: string): number {
  const want = oracleF32(rel, name);
  assert.ok(got, `${name} missing`);
  assert.deepEqual(got.shape, want.shape, `${name} shape`);
  const d = maxAbsDiff(got, want);
  assert.ok(d < TOL, `${name}: max abs diff ${d}`);
  return d;
}

test('recipes: SD uses last_hidden_state; SDXL concatenates penultimate states, pools text_encoder_2, forces zeros', () => {
  const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8'));
  assert.deepEqual(promptEncodingRecipe(read(tinySd), 'mi.json'), {
    encoders: [{ component: 'text_encoder', tokenizer: 'tokenizer', hiddenState: 'last_hidden_state' }],
    forceZerosForEmptyPrompt: false,
  });
  const xl = read(tinySdxl);
  assert.deepEqual(promptEncodingRecipe(xl, 'mi.json'), {
    encoders: [
      { component: 'text_encoder', tokenizer: 'tokenizer', hiddenState: 'penultimate_hidden_state' },
      { component: 'text_encoder_2', tokenizer: 'tokenizer_2', hiddenState: 'penultimate_hidden_state', pooled: 'text_embeds' },
    ],
    forceZerosForEmptyPrompt: true,
  });
  // A refiner-like folder (no text_encoder) uses text_encoder_2 alone; diffusers' default for the flag is true.
  const refiner = promptEncodingRecipe({ ...xl, text_encoder: [null, null], force_zeros_for_empty_prompt: undefined }, 'mi.json');
  assert.deepEqual(refiner.encoders.map((e) => e.component), ['text_encoder_2']);
  assert.equal(refiner.forceZerosForEmptyPrompt, true);
  assert.equal(promptEncodingRecipe({ ...xl, force_zeros_for_empty_prompt: false }, 'mi.json').forceZerosForEmptyPrompt, false);
  assert.throws(() => promptEncodingRecipe({ ...xl, _class_name: 'FluxPipeline' }, '/m/model_index.json'), (e: unknown) => e instanceof ConfigError && /\/m\/model_index.json: _class_name is "FluxPipeline"/.test((e as Error).message));
  assert.throws(() => promptEncodingRecipe({ ...xl, text_encoder_2: [null, null] }, 'mi.json'), /text_encoder_2 is null or missing/);
  assert.throws(() => promptEncodingRecipe({ ...xl, force_zeros_for_empty_prompt: 'yes' }, 'mi.json'), /force_zeros_for_empty_prompt is "yes"/);
});

test('tiny-sd encode_prompt matches diffusers (negative = encoding of "")', async (t) => {
  const enc = await createPromptEncoder(tinySd, { threads: 1 });
  try {
    const r = await enc.encodePrompt({ prompt: prompts('tiny-sd') });
    const rel = 'tiny-sd/text_encoder';
    const d = Math.max(close(r.promptEmbeds, rel, 'encode_prompt.prompt_embeds'), close(r.negativePromptEmbeds, rel, 'encode_prompt.negative_prompt_embeds'));
    assert.equal(r.pooledPromptEmbeds, undefined);
    t.diagnostic(`max abs diff ${d.toExponential(2)}`);
  } finally {
    await enc.release();
  }
});

test('tiny-sdxl encode_prompt matches diffusers: zeros without a negative prompt, encoded with one', async (t) => {
  const enc = await createPromptEncoder(tinySdxl, { threads: 1 });
  const rel = 'tiny-sdxl/text_encoder';
  try {
    const r = await enc.encodePrompt({ prompt: prompts('tiny-sdxl') });
    let d = close(r.promptEmbeds, rel, 'encode_prompt.prompt_embeds');
    d = Math.max(d, close(r.pooledPromptEmbeds, rel, 'encode_prompt.pooled_prompt_embeds'));
    close(r.negativePromptEmbeds, rel, 'encode_prompt.negative_prompt_embeds');
    close(r.negativePooledPromptEmbeds, rel, 'encode_prompt.negative_pooled_prompt_embeds');
    assert.ok(r.negativePromptEmbeds.data.every((x) => x === 0) && r.negativePooledPromptEmbeds!.data.every((x) => x === 0));

    const n = await enc.encodePrompt({ prompt: ['a photo of an astronaut riding a horse on mars'], negativePrompt: ['blurry, ugly'] });
    for (const [name, got] of [['prompt_embeds', n.promptEmbeds], ['negative_prompt_embeds', n.negativePromptEmbeds], ['pooled_prompt_embeds', n.pooledPromptEmbeds], ['negative_pooled_prompt_embeds', n.negativePooledPromptEmbeds]] as const) {
      d = Math.max(d, close(got, rel, `encode_prompt_neg.${name}`));
    }
    t.diagnostic(`max abs diff ${d.toExponential(2)}`);
  } finally {
    await enc.release();
  }
});

test('cache: repeated prompts are encoded once, rows come back identical, LRU keeps cacheSize prompts', async () => {
  const base = await createPromptEncoder(tinySdxl, { threads: 1 });
  const batches: number[] = [];
  const parts: TextEncoderPart[] = base.parts.map((p) => ({
    ...p,
    session: { run: (feeds, outputs) => (batches.push(feeds.input_ids!.shape[0]!), p.session.run(feeds, outputs)) },
  }));
  const enc = new CachedPromptEncoder(parts, { forceZerosForEmptyPrompt: true, cacheSize: 3 });
  try {
    const [a, b, c] = ['a red fox', 'a cute corgi', 'snowy mountains'];
    const r1 = await enc.encode([a, b, a, a]);
    assert.deepEqual(batches, [2, 2], 'two unique prompts, one batch per encoder');
    const D = 77 * 64;
    assert.equal(maxAbsDiff(r1.promptEmbeds.data.subarray(0, D), r1.promptEmbeds.data.subarray(2 * D, 3 * D)), 0);
    assert.ok(maxAbsDiff(r1.promptEmbeds.data.subarray(0, D), r1.promptEmbeds.data.subarray(D, 2 * D)) > 0.1);
    const r2 = await enc.encode([b, c]);
    assert.deepEqual(batches, [2, 2, 1, 1], 'only the new prompt is encoded');
    assert.equal(maxAbsDiff(r2.promptEmbeds.data.subarray(0, D), r1.promptEmbeds.data.subarray(D, 2 * D)), 0);
    assert.equal(maxAbsDiff(r2.pooled!.data.subarray(0, 32), r1.pooled!.data.subarray(32, 64)), 0);
    // A row from a batch of one equals the row from a batch of several (batch-independent graph).
    const fresh = await base.encode([c]);
    assert.ok(maxAbsDiff(fresh.promptEmbeds, { data: r2.promptEmbeds.data.subarray(D), shape: [1, 77, 64] }) < 1e-6);
    assert.equal(enc.cachedPrompts, 3);
    await enc.encode(['a fourth prompt']); // evicts the least recently used (a)
    assert.equal(enc.cachedPrompts, 3);
    batches.length = 0;
    await enc.encode([b, c]);
    assert.deepEqual(batches, []);
    await enc.encode([a]);
    assert.deepEqual(batches, [1, 1]);
    // prompt_2 makes a different cache entry and changes only text_encoder_2's half of the features.
    const two = await enc.encode([a], ['a cute corgi']);
    const one = await enc.encode([a]);
    const feat = (t: Tensor, lo: number, hi: number) => Float32Array.from({ length: 77 * (hi - lo) }, (_, i) => t.data[Math.floor(i / (hi - lo)) * 64 + lo + (i % (hi - lo))]!);
    assert.equal(maxAbsDiff(feat(two.promptEmbeds, 0, 32), feat(one.promptEmbeds, 0, 32)), 0);
    assert.ok(maxAbsDiff(feat(two.promptEmbeds, 32, 64), feat(one.promptEmbeds, 32, 64)) > 0.1);
    // (r1 encoded it in a batch of two: equal up to the GEMM's batch-dependent summation order)
    assert.ok(maxAbsDiff(two.pooled!, r1.pooled!.data.subarray(32, 64)) < 1e-6, 'pooled comes from text_encoder_2, which read prompt_2');
    // Negative prompts: one for all rows, or one per row.
    const neg = await enc.encodeNegative(2, ['blurry']);
    assert.equal(maxAbsDiff(neg.promptEmbeds.data.subarray(0, D), neg.promptEmbeds.data.subarray(D)), 0);
    await assert.rejects(enc.encodeNegative(3, ['x', 'y']), OptionsError);
    await assert.rejects(enc.encode(['x'], ['y', 'z']), OptionsError);
  } finally {
    await base.release();
  }
});

test('truncated prompts are reported through onWarning', async () => {
  const warnings: string[] = [];
  const enc = await createPromptEncoder(tinySd, { threads: 1, onWarning: (m) => warnings.push(m) });
  try {
    const long = Array.from({ length: 90 }, (_, i) => (i % 2 ? 'horse' : 'photo')).join(' ');
    await enc.encode([long, 'a photo']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /truncated because CLIP can only handle sequences up to 77 tokens: (photo|horse)/);
  } finally {
    await enc.release();
  }
});
