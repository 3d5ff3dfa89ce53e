/**
 * The emphasis syntax A1111 users type, parsed into text segments with weights: the behaviour of
 * stable-diffusion-webui `modules/prompt_parser.py` `parse_prompt_attention` (read to understand, written anew).
 *
 * - `(words)` multiplies the weight of what it encloses by 1.1, `[words]` divides it by 1.1; nesting multiplies.
 * - `(words:1.4)` multiplies by 1.4 (any `[+-]?[.\d]+` number; 0, negative and huge values are taken as written;
 *   one that is not a finite number, such as `(a:1.2.3)`, is an OptionsError where A1111 would fail or give inf).
 * - `\(` `\)` `\[` `\]` `\\` are the literal characters; a lone `\` is dropped.
 * - Unbalanced brackets: a `)` or `]` with no opening one is literal text; an opening one that is never closed
 *   applies its ×1.1 (÷1.1) to everything after it, to the end of the prompt.
 * - `BREAK` (upper case, a word of its own) ends the current 75-token chunk (see prompt-chunks.ts).
 * - Neighbouring segments of equal weight are merged; an empty prompt is one empty segment of weight 1.
 */
import { OptionsError } from '../errors.js';

/** One run of prompt text and the factor applied to its tokens' embeddings; `isBreak` marks a BREAK. */
export interface PromptSegment {
  readonly text: string;
  readonly weight: number;
  readonly isBreak?: true;
}

/** Round- and square-bracket factors (A1111's `round_bracket_multiplier`, `square_bracket_multiplier`). */
export const ROUND_BRACKET_MULTIPLIER = 1.1;
export const SQUARE_BRACKET_MULTIPLIER = 1 / 1.1;

// Alternatives in A1111's order: escapes, a lone backslash, openers, ":number)" closers, closers, plain text, a lone colon.
const ATTENTION_TOKEN = /\\\(|\\\)|\\\[|\\\]|\\\\|\\|\(|\[|:([+-]?[.\d]+)\)|\)|\]|[^\\()[\]:]+|:/g;
const BREAK_WORD = /\s*\bBREAK\b\s*/s;

/** Python's float() on the matched digits, refusing what it refuses (and infinities). */
function parseWeight(digits: string): number {
  const w = Number(digits);
  if (!Number.isFinite(w)) throw new OptionsError(`prompt weight ":${digits})" is not a finite number (write e.g. "(word:1.2)")`);
  return w;
}

interface MutableSegment { text: string; weight: number; isBreak?: true }

/** Parses `text` into weighted segments (see the file header for the rules). */
export function parsePromptAttention(text: string): PromptSegment[] {
  const res: MutableSegment[] = [];
  const round: number[] = [];
  const square: number[] = [];
  const multiplyFrom = (start: number, factor: number): void => {
    for (let p = start; p < res.length; p++) res[p]!.weight *= factor;
  };
  for (const m of text.matchAll(ATTENTION_TOKEN)) {
    const tok = m[0];
    const weight = m[1];
    if (tok.startsWith('\\')) res.push({ text: tok.slice(1), weight: 1 });
    else if (tok === '(') round.push(res.length);
    else if (tok === '[') square.push(res.length);
    else if (weight !== undefined && round.length > 0) multiplyFrom(round.pop()!, parseWeight(weight));
    else if (tok === ')' && round.length > 0) multiplyFrom(round.pop()!, ROUND_BRACKET_MULTIPLIER);
    else if (tok === ']' && square.length > 0) multiplyFrom(square.pop()!, SQUARE_BRACKET_MULTIPLIER);
    else {
      tok.split(BREAK_WORD).forEach((part, i) => {
        if (i > 0) res.push({ text: 'BREAK', weight: -1, isBreak: true });
        res.push({ text: part, weight: 1 });
      });
    }
  }
  for (const pos of round) multiplyFrom(pos, ROUND_BRACKET_MULTIPLIER);
  for (const pos of square) multiplyFrom(pos, SQUARE_BRACKET_MULTIPLIER);
  if (res.length === 0) return [{ text: '', weight: 1 }];
  // merge runs of equal weight (never across a BREAK)
  const merged: MutableSegment[] = [];
  for (const s of res) {
    const last = merged[merged.length - 1];
    if (last && !last.isBreak && !s.isBreak && last.weight === s.weight) last.text += s.text;
    else merged.push({ ...s });
  }
  return merged;
}

/** `text` with the characters the parser treats specially escaped, so that it parses back to itself at weight 1. */
export function escapePromptText(text: string): string {
  return text.replace(/[\\()[\]]/g, (c) => `\\${c}`);
}

/**
 * A weight written so that the parser reads back the same float64 (`(x:${formatWeight(w)})`): the shortest
 * round-trip form, or plain digits where JavaScript would write an exponent (which the syntax does not accept).
 */
export function formatWeight(w: number): string {
  const s = String(w);
  if (!/e/i.test(s)) return s;
  if (Math.abs(w) >= 1) return BigInt(w).toString(); // ≥ 1e21: an integer
  return w.toFixed(100).replace(/0+$/, '');
}

/** Text that parses to `text` at weight `w`: the escaped text, wrapped as `(text:w)` unless w is 1. */
export function weightedText(text: string, w: number): string {
  const escaped = escapePromptText(text);
  return w === 1 ? escaped : `(${escaped}:${formatWeight(w)})`;
}
