/**
 * The A1111 emphasis parser on the examples A1111 documents in `parse_prompt_attention` (exact floats, as its
 * doctest prints them), plus nesting, escapes, unbalanced brackets, BREAK and weights of 0, negative and huge;
 * and the weighted text AccDiffusion's window prompts are written in parses back to the same text and weight.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { OptionsError } from '../../src/errors.js';
import { escapePromptText, formatWeight, parsePromptAttention, weightedText } from '../../src/prompts/prompt-attention.js';

const pairs = (text: string): Array<[string, number]> => parsePromptAttention(text).map((s) => [s.text, s.weight]);

test("A1111's documented examples", () => {
  assert.deepEqual(pairs('normal text'), [['normal text', 1]]);
  assert.deepEqual(pairs('an (important) word'), [['an ', 1], ['important', 1.1], [' word', 1]]);
  assert.deepEqual(pairs('(unbalanced'), [['unbalanced', 1.1]]);
  assert.deepEqual(pairs('\\(literal\\]'), [['(literal]', 1]]);
  assert.deepEqual(pairs('(unnecessary)(parens)'), [['unnecessaryparens', 1.1]]);
  assert.deepEqual(pairs('a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).'), [
    ['a ', 1], ['house', 1.5730000000000004], [' ', 1.1], ['on', 1], [' a ', 1.1], ['hill', 0.55],
    [', sun, ', 1.1], ['sky', 1.4641000000000006], ['.', 1.1],
  ]);
});

test('nesting multiplies: (x) 1.1, ((x)) 1.21, [x] 1/1.1, [[x]], mixed', () => {
  assert.deepEqual(pairs('((words))'), [['words', 1.1 * 1.1]]);
  assert.equal(pairs('((words))')[0]![1], 1.2100000000000002);
  assert.deepEqual(pairs('[words]'), [['words', 1 / 1.1]]);
  assert.deepEqual(pairs('[[words]]'), [['words', (1 / 1.1) * (1 / 1.1)]]);
  assert.deepEqual(pairs('([words])'), [['words', (1 / 1.1) * 1.1]]);
  assert.deepEqual(pairs('((a:2) b)'), [['a', 2 * 1.1], [' b', 1.1]]);
  assert.deepEqual(pairs('(red hat:1.3) on a cat'), [['red hat', 1.3], [' on a cat', 1]]);
});

test('weights of 0, negative, huge and with spaces-free decimals are taken as written', () => {
  assert.deepEqual(pairs('(a:0)'), [['a', 0]]);
  assert.deepEqual(pairs('(a:-1.5) b'), [['a', -1.5], [' b', 1]]);
  assert.deepEqual(pairs('(a:+2)'), [['a', 2]]);
  assert.deepEqual(pairs('(a:1000000)'), [['a', 1e6]]);
  assert.deepEqual(pairs('(a:.5)'), [['a', 0.5]]);
  assert.deepEqual(pairs('(a:1.)'), [['a', 1]]);
  // what Python's float() refuses (A1111 then fails) is one OptionsError line
  assert.throws(() => parsePromptAttention('(a:1.2.3)'), (e: unknown) => e instanceof OptionsError && /^prompt weight ":1\.2\.3\)" is not a finite number/.test((e as Error).message));
  assert.throws(() => parsePromptAttention('(a:.)'), OptionsError);
  assert.throws(() => parsePromptAttention(`(a:${'9'.repeat(400)})`), OptionsError);
  // ":1e3" is not a weight in A1111's grammar: the colon and the rest are text, and the bracket gives ×1.1
  assert.deepEqual(pairs('(a:1e3)'), [['a:1e3', 1.1]]);
});

test('escapes, lone backslashes and colons', () => {
  assert.deepEqual(pairs('\\(a\\) \\[b\\] c\\\\d'), [['(a) [b] c\\d', 1]]);
  assert.deepEqual(pairs('a\\b'), [['ab', 1]]); // a lone backslash is dropped
  assert.deepEqual(pairs('time: 12:30'), [['time: 12:30', 1]]);
  assert.deepEqual(pairs('(a:b)'), [['a:b', 1.1]]);
  assert.deepEqual(pairs('(\\(x\\):1.5)'), [['(x)', 1.5]]);
});

test('unbalanced brackets: stray closers are text, unclosed openers weight everything after them', () => {
  assert.deepEqual(pairs('a) b] c'), [['a) b] c', 1]]);
  assert.deepEqual(pairs('[unbalanced'), [['unbalanced', 1 / 1.1]]);
  assert.deepEqual(pairs('a (b [c'), [['a ', 1], ['b ', 1.1], ['c', 1.1 / 1.1]]);
  assert.deepEqual(pairs('(a:1.2'), [['a:1.2', 1.1]]);
  assert.deepEqual(pairs('(a]'), [['a]', 1.1]]);
  assert.deepEqual(pairs(':1.5) x'), [[':1.5) x', 1]]); // a weight closer without an opener is text
});

test('empty prompts and BREAK', () => {
  assert.deepEqual(pairs(''), [['', 1]]);
  assert.deepEqual(pairs('()'), [['', 1]]);
  const s = parsePromptAttention('a cat BREAK (a hat)');
  assert.deepEqual(s.map((x) => [x.text, x.weight, x.isBreak ?? false]), [['a cat', 1, false], ['BREAK', -1, true], ['', 1, false], ['a hat', 1.1, false]]);
  assert.deepEqual(pairs('BREAKFAST break'), [['BREAKFAST break', 1]]);
});

test('weightedText parses back to the same text and the same float64 weight', () => {
  const texts = ['red', '(', ')', '[x]', 'a\\b', ':', '1', '...', "'s", 'é'];
  const weights = [1, 1.1, 1.2100000000000002, 1 / 1.1, 0, -0.5, 1e25, 3e-9, 1.5730000000000004];
  for (const t of texts) {
    for (const w of weights) {
      const got = parsePromptAttention(weightedText(t, w));
      assert.deepEqual(got.map((x) => [x.text, x.weight]), [[t, w]], `${weightedText(t, w)}`);
    }
  }
  assert.equal(escapePromptText('(a) [b] \\'), '\\(a\\) \\[b\\] \\\\');
  assert.equal(formatWeight(1e25), '10000000000000000905969664');
  // joined with spaces, as window prompts are: each word keeps its weight
  assert.deepEqual(pairs([weightedText('red', 1.3), weightedText('hat', 1.3), weightedText('cat', 1)].join(' ')), [['red', 1.3], [' ', 1], ['hat', 1.3], [' cat', 1]]);
});
