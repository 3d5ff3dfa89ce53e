/**
 * Tests of src/tokenizers/clip-tokenizer.ts against transformers' slow CLIPTokenizer outputs
 * (test/fixtures/oracle/*\/tokens.json, ORACLE-README §4.1) and models/shapes-xl/REPORT.md §2.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIPTokenizer } from '../../src/tokenizers/clip-tokenizer.js';
import { TokenizerError } from '../../src/errors.js';
import { oracleJson } from '../helpers/oracle.js';
import { repoRoot, tinySd, tinySdxl } from '../helpers/paths.js';

interface OracleEntry {
  prompt: string;
  ids: number[];
  input_ids_77: number[];
  tokens: string[];
}

const cases: Array<[model: string, dir: string, key: string]> = [
  ['tiny-sd', join(tinySd, 'tokenizer'), 'tokenizer'],
  ['tiny-sdxl', join(tinySdxl, 'tokenizer'), 'tokenizer'],
  ['tiny-sdxl', join(tinySdxl, 'tokenizer_2'), 'tokenizer_2'],
];

for (const [model, dir, key] of cases) {
  test(`${model}/${key}: every oracle prompt and edge case matches ids, input_ids_77 and tokens`, () => {
    const tok = CLIPTokenizer.fromFolder(dir);
    const json = oracleJson<Record<string, OracleEntry[]>>(`${model}/tokens`);
    const entries = [...json[key]!, ...json[`${key}.extra`]!];
    assert.equal(entries.length, 9);
    for (const e of entries) {
      const label = JSON.stringify(e.prompt.slice(0, 40));
      assert.deepEqual(tok.encode(e.prompt), e.ids, `ids of ${label}`);
      assert.deepEqual(tok.tokens(e.prompt), e.tokens, `tokens of ${label}`);
      const padded = tok.encodePadded(e.prompt);
      assert.deepEqual(padded.ids, e.input_ids_77, `input_ids_77 of ${label}`);
      assert.equal(padded.truncatedText !== undefined, e.ids.length > 77, `truncation flag of ${label}`);
    }
  });
}

test('special ids and max length follow the config (SD pads with <|endoftext|>, SDXL tokenizer_2 with "!")', () => {
  const sd = CLIPTokenizer.fromFolder(join(tinySd, 'tokenizer'));
  assert.deepEqual([sd.bosTokenId, sd.eosTokenId, sd.padTokenId, sd.maxLength], [998, 999, 999, 77]);
  const t2 = CLIPTokenizer.fromFolder(join(tinySdxl, 'tokenizer_2'));
  assert.deepEqual([t2.bosTokenId, t2.eosTokenId, t2.padTokenId, t2.maxLength], [998, 999, 0, 77]);
  // "!" is an added token for tokenizer_2 only: never merged into "!</w>" (256).
  assert.deepEqual(sd.encode('wow!'), [998, ...sd.encode('wow').slice(1, -1), 256, 999]);
  assert.deepEqual(t2.encode('wow!'), [998, ...t2.encode('wow').slice(1, -1), 0, 999]);
});

test('truncatedText is the decoded text of the cut pieces, as diffusers logs it', () => {
  const tok = CLIPTokenizer.fromFolder(join(tinySd, 'tokenizer'));
  const words = Array.from({ length: 80 }, (_, i) => (i < 75 ? 'horse' : ['red', 'cat', 'on', 'the', 'lawn.'][i - 75]));
  const r = tok.encodePadded(words.join(' '));
  assert.equal(r.ids.length, 77);
  assert.equal(r.ids[76], 999);
  assert.equal(r.truncatedText, 'red cat on the lawn.');
  assert.equal(tok.encodePadded('a cat').truncatedText, undefined);
});

test('decodePiece gives the AccDiffusion patch-prompt words (</w> removed, byte-decoded)', () => {
  const tok = CLIPTokenizer.fromFolder(join(tinySdxl, 'tokenizer'));
  const ids = tok.encode('A cute corgi on the lawn.');
  // ORACLE-README §6: the md prompt with every token kept is "a cute co r g i on the lawn ."
  assert.equal(ids.slice(1, -1).map((id) => tok.decodePiece(id)).join(' '), 'a cute co r g i on the lawn .');
  assert.equal(tok.decodePiece(998), '<|startoftext|>');
  // A lone UTF-8 lead byte (the "Ã" of "é") decodes to U+FFFD as with errors="replace".
  assert.equal(tok.decodePiece(127), '\ufffd');
  assert.equal(tok.decode(tok.encode('Café ÜBER naïve').slice(1, -1)), 'café über naïve');
});

test('models/shapes-xl tokenizer (vocab 768) reproduces the REPORT.md example', () => {
  const tok = CLIPTokenizer.fromFolder(join(repoRoot, 'models', 'shapes-xl', 'tokenizer'));
  assert.deepEqual(tok.encode('a red circle, a blue square and a yellow triangle on a gray background'),
    [766, 320, 569, 556, 267, 320, 555, 570, 543, 320, 574, 572, 563, 320, 559, 551, 767]);
  assert.deepEqual([tok.bosTokenId, tok.eosTokenId, tok.padTokenId], [766, 767, 767]);
  const t2 = CLIPTokenizer.fromFolder(join(repoRoot, 'models', 'shapes-xl', 'tokenizer_2'));
  assert.equal(t2.padTokenId, 0);
  assert.deepEqual(t2.encodePadded('a red circle').ids.slice(0, 6), [766, 320, 569, 556, 767, 0]);
});

test('normalisation: control chars dropped, unicode spaces collapse, CJK spaced like BasicTokenizer', () => {
  const tok = CLIPTokenizer.fromFolder(join(tinySd, 'tokenizer'));
  assert.deepEqual(tok.encode('a\u0000\u200b cat\u00a0\u3000on'), tok.encode('a cat on'));
  // Each CJK ideograph is its own word; without spacing "猫犬" would be one \p{L}+ match (one word, 2nd char ends in </w>).
  assert.deepEqual(tok.encode('猫犬'), tok.encode('猫 犬'));
  assert.deepEqual(tok.encode('𠀀𠀁'), tok.encode('𠀀 𠀁'));
  assert.notDeepEqual(tok.encode('éé'), tok.encode('é é'));
});

// ---- broken files ----

function brokenCopy(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'clip-tok-'));
  cpSync(join(tinySdxl, 'tokenizer_2'), dir, { recursive: true });
  edit(dir);
  return dir;
}

function assertTokenizerError(edit: (dir: string) => void, file: string, pattern: RegExp): void {
  const dir = brokenCopy(edit);
  try {
    assert.throws(() => CLIPTokenizer.fromFolder(dir), (e: unknown) => {
      assert.ok(e instanceof TokenizerError, `expected TokenizerError, got ${String(e)}`);
      assert.ok(!e.message.includes('\n'), `one-line message: ${e.message}`);
      assert.ok(e.message.startsWith(join(dir, file) + ': '), `names ${file}: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const edit = (name: string, f: (text: string) => string) => (dir: string) =>
  writeFileSync(join(dir, name), f(readFileSync(join(dir, name), 'utf8')));
const vocabEdit = (f: (v: Record<string, number>) => void) => edit('vocab.json', (t) => {
  const v = JSON.parse(t) as Record<string, number>;
  f(v);
  return JSON.stringify(v);
});

test('broken tokenizer files throw TokenizerError naming the file and the problem', () => {
  assertTokenizerError((d) => rmSync(join(d, 'vocab.json')), 'vocab.json', /file not found/);
  assertTokenizerError((d) => rmSync(join(d, 'merges.txt')), 'merges.txt', /file not found/);
  assertTokenizerError((d) => rmSync(join(d, 'tokenizer_config.json')), 'tokenizer_config.json', /file not found/);
  assertTokenizerError(edit('vocab.json', () => ''), 'vocab.json', /is empty \(0 bytes\): an interrupted download/);
  assertTokenizerError(edit('merges.txt', () => '\n'), 'merges.txt', /file is empty/);
  assertTokenizerError(edit('vocab.json', (t) => t.slice(0, 100)), 'vocab.json', /ends early after 100 bytes \(an interrupted download\?\)/);
  assertTokenizerError(edit('vocab.json', () => '[1, 2]'), 'vocab.json', /expected a JSON object/);
  assertTokenizerError(edit('tokenizer_config.json', (t) => t.replace('{', '{,')), 'tokenizer_config.json', /malformed JSON/);
  assertTokenizerError(edit('special_tokens_map.json', (t) => t + '}'), 'special_tokens_map.json', /malformed JSON/);
  assertTokenizerError(vocabEdit((v) => { v.a = 1.5; }), 'vocab.json', /token "a" has id 1\.5/);
  assertTokenizerError(vocabEdit((v) => { delete v['<|startoftext|>']; }), 'vocab.json',
    /special token "<\|startoftext\|>" \(bos_token\) is not in the vocabulary/);
  assertTokenizerError(vocabEdit((v) => { delete v['<|endoftext|>']; }), 'vocab.json', /"<\|endoftext\|>" \(eos_token\)/);
  assertTokenizerError(edit('tokenizer_config.json', (t) => t.replace('"0": {', '"5": {')), 'tokenizer_config.json',
    /added_tokens_decoder gives pad_token "!" id 5 but vocab\.json has 0/);
  assertTokenizerError(edit('merges.txt', (t) => t.split('\n').slice(1).join('\n')), 'merges.txt', /line 1 must be the "#version" header/);
  assertTokenizerError(edit('merges.txt', (t) => t.replace('\nt a\n', '\nt a x\n')), 'merges.txt', /line 4: expected two space-separated symbols/);
  assertTokenizerError(edit('merges.txt', (t) => t.replace('\nt a\n', '\nta\n')), 'merges.txt', /line 4: expected two/);
  assertTokenizerError(edit('merges.txt', (t) => t + '\nq z'), 'merges.txt', /merge result "qz" is not in vocab\.json/);
  assertTokenizerError(edit('tokenizer_config.json', (t) => t.replace('"model_max_length": 77', '"model_max_length": "77"')),
    'tokenizer_config.json', /model_max_length must be an integer >= 2/);
  assertTokenizerError((d) => {
    edit('tokenizer_config.json', (t) => t.replace('"pad_token": "!",', ''))(d);
    edit('special_tokens_map.json', (t) => t.replace('"pad_token": "!",', ''))(d);
  }, 'tokenizer_config.json', /no pad_token is set/);
});

test('special_tokens_map.json is optional (transformers does not need it)', () => {
  const dir = brokenCopy((d) => rmSync(join(d, 'special_tokens_map.json')));
  try {
    const tok = CLIPTokenizer.fromFolder(dir);
    assert.deepEqual([tok.bosTokenId, tok.eosTokenId, tok.padTokenId], [998, 999, 0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
