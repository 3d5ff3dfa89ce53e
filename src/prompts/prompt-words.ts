/**
 * AccDiffusion's "words" when prompts are weighted and chunked (docs/accdiffusion-algorithm.md §3.5).
 *
 * A word is what CLIP's pre-tokeniser makes one unit of the user's prompt (a run of letters, one digit, a run of
 * punctuation, a contraction such as "'s"): the BPE pieces up to and including the one that ends in `</w>`.
 * A word split into several pieces is one word, also when its pieces fall into two chunks. Each word carries:
 * - `columns`: the key positions of its pieces in the concatenated [chunks·77] sequence the UNet attends to
 *   (its attention map is the mean of those columns);
 * - `text`: the word in A1111 syntax with its weight, `(word:1.3)` (plain `word` at weight 1, brackets escaped),
 *   so that a window prompt joining kept words re-parses to the same tokens with the same weights.
 * Which windows get a word depends on its map and c only (the rule of §3.2–3.3); the weight only rides along.
 */
import { weightedText } from './prompt-attention.js';
import { placedTokens, promptChunks, type ChunkTokenizer } from './prompt-chunks.js';

/** A tokenizer with the vocabulary look-ups words need (CLIPTokenizer). */
export interface WordTokenizer extends ChunkTokenizer {
  idToToken(id: number): string;
  decode(ids: readonly number[]): string;
}

/** One word of the user's prompt. */
export interface PromptWord {
  /** The word in A1111 syntax with its weight (what a window prompt holds). */
  readonly text: string;
  /** The decoded word without syntax, e.g. "astronaut". */
  readonly plain: string;
  readonly weight: number;
  /** Key columns of its pieces in the concatenated sequence (chunk·77 + 1 + position in the chunk). */
  readonly columns: readonly number[];
}

/** The words of `prompt` (weighted, first `chunks` chunks), in prompt order. */
export function promptWords(tokenizer: WordTokenizer, prompt: string, chunks: number): PromptWord[] {
  const tokens = placedTokens(tokenizer, promptChunks(tokenizer, prompt, true), chunks);
  const words: PromptWord[] = [];
  let run: typeof tokens = [];
  const flush = (): void => {
    if (run.length === 0) return;
    const plain = tokenizer.decode(run.map((t) => t.id));
    const weight = run[0]!.weight;
    words.push({ text: weightedText(plain, weight), plain, weight, columns: run.map((t) => t.column) });
    run = [];
  };
  tokens.forEach((t, i) => {
    run.push(t);
    const next = tokens[i + 1];
    if (tokenizer.idToToken(t.id).endsWith('</w>') || !next || next.weight !== t.weight) flush();
  });
  flush();
  return words;
}
