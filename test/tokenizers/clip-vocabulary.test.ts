/**
 * The CLIP vocabulary derived from the shipped merge list (src/tokenizers/clip-vocabulary.ts) against
 * oracle/clip-vocab/tokens.json (test/fixtures/MODEL-FILES-README.md §11): the derivation's sha256s and the ids of 31 prompts
 * tokenized by transformers' slow CLIPTokenizer, with both padding conventions.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { standardClipTokenizer, standardClipVocabulary } from '../../src/loading/standard-tokenizers.js';
import { oracleJson } from '../helpers/oracle.js';

interface Tokenized { ids: number[]; tokens: string[]; input_ids_77: number[]; truncated: boolean }
interface VocabOracle {
  derivation: { sha256_of_vocab_tokens_joined_by_newline_in_id_order: string; sha256_of_used_merges_joined_by_newline: string; sample_ids: Record<string, string> };
  prompts: Array<{ prompt: string; pad_endoftext: Tokenized; pad_exclamation: Tokenized }>;
}
const oracle = oracleJson<VocabOracle>('clip-vocab/tokens');
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

test('derived CLIP vocabulary: 49,408 tokens and 48,894 merges with the oracle checksums', () => {
  const v = standardClipVocabulary();
  assert.equal(v.tokens.length, 49408);
  assert.equal(v.merges.length, 48894);
  assert.equal(new Set(v.tokens).size, 49408);
  assert.equal(sha256(v.tokens.join('\n')), oracle.derivation.sha256_of_vocab_tokens_joined_by_newline_in_id_order);
  assert.equal(sha256(v.merges.join('\n')), oracle.derivation.sha256_of_used_merges_joined_by_newline);
  for (const [id, tok] of Object.entries(oracle.derivation.sample_ids)) assert.equal(v.tokens[Number(id)], tok, `id ${id}`);
});

for (const padding of ['endoftext', 'exclamation'] as const) {
  test(`standard CLIP tokenizer, pad ${padding}: ids, tokens and input_ids_77 of all 31 oracle prompts`, () => {
    const tok = standardClipTokenizer(padding);
    assert.equal(oracle.prompts.length, 31);
    for (const p of oracle.prompts) {
      const want = padding === 'endoftext' ? p.pad_endoftext : p.pad_exclamation;
      const label = JSON.stringify(p.prompt.slice(0, 40));
      assert.deepEqual(tok.encode(p.prompt), want.ids, `ids of ${label}`);
      assert.deepEqual(tok.tokens(p.prompt), want.tokens, `tokens of ${label}`);
      const padded = tok.encodePadded(p.prompt);
      assert.deepEqual(padded.ids, want.input_ids_77, `input_ids_77 of ${label}`);
      assert.equal(padded.truncatedText !== undefined, want.truncated, `truncation of ${label}`);
    }
  });
}
