/**
 * Prompts of any length as CLIP chunks, the way A1111 (`modules/sd_hijack_clip.py`, `tokenize_line`) and ComfyUI
 * feed them: the prompt's tokens are cut into runs of 75, each run becomes one 77-token sequence
 * `[BOS, up to 75 tokens, EOS, padding]` encoded on its own, and the encoder outputs are concatenated along the
 * token axis ([chunks·77, D]). Each token carries the weight of the prompt segment it came from (BOS, EOS and
 * padding: 1). `BREAK` closes the current chunk early. Unlike A1111 there is no "comma padding backtrack"
 * (A1111 moves the words after a comma within the last 20 tokens of a full chunk into the next one); this is
 * ComfyUI's plain cut, so a prompt's first 75 tokens always form its first chunk.
 */
import { parsePromptAttention, type PromptSegment } from './prompt-attention.js';

/** Text tokens per chunk: model_max_length − 2 (75 for CLIP's 77 positions). */
export function chunkTokens(tokenizer: { readonly maxLength: number }): number {
  return tokenizer.maxLength - 2;
}

/** The tokenizer calls chunking needs (CLIPTokenizer has them). */
export interface ChunkTokenizer {
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly maxLength: number;
  readonly paddingSide: 'left' | 'right';
  /** bos, the text's tokens, eos; no padding, no truncation. */
  encode(text: string): number[];
}

/** A token of the prompt and where it sits. */
export interface PlacedToken {
  readonly id: number;
  readonly weight: number;
  /** Chunk index (0-based). */
  readonly chunk: number;
  /** Position in the concatenated sequence: chunk·maxLength + position inside the chunk's padded ids. */
  readonly column: number;
}

/** A prompt's token runs, one per chunk, before padding. */
export interface PromptChunks {
  /** Text tokens of each chunk (≤ 75 each); an empty prompt is one empty chunk. */
  readonly chunks: readonly (readonly { id: number; weight: number }[])[];
}

/**
 * Segments → chunks: each segment's text is tokenised on its own (as A1111 does, so a bracket inside a word
 * splits the word), its tokens take the segment's weight, and chunks fill up to 75 tokens; BREAK starts a new
 * chunk. With `weighting` false the whole text is one segment of weight 1 (taken literally).
 */
export function promptChunks(tokenizer: ChunkTokenizer, text: string, weighting: boolean): PromptChunks {
  const segments: PromptSegment[] = weighting ? parsePromptAttention(text) : [{ text, weight: 1 }];
  const size = chunkTokens(tokenizer);
  const chunks: { id: number; weight: number }[][] = [];
  let current: { id: number; weight: number }[] = [];
  const close = (): void => {
    chunks.push(current);
    current = [];
  };
  for (const seg of segments) {
    if (seg.isBreak) {
      close();
      continue;
    }
    for (const id of tokenizer.encode(seg.text).slice(1, -1)) {
      if (current.length === size) close();
      current.push({ id, weight: seg.weight });
    }
  }
  if (current.length > 0 || chunks.length === 0) close();
  return { chunks };
}

/**
 * The padded ids and multipliers of chunk `c` of `pc` (an empty chunk past the prompt's own ones: the encoding
 * of ""), laid out like the tokenizer's `encodePadded`: `[BOS, tokens, EOS]` then padding on its padding side.
 */
export function paddedChunk(tokenizer: ChunkTokenizer, pc: PromptChunks, c: number): { ids: number[]; multipliers: number[]; offset: number } {
  const body = pc.chunks[c] ?? [];
  const ids = [tokenizer.bosTokenId, ...body.map((t) => t.id), tokenizer.eosTokenId];
  const multipliers = [1, ...body.map((t) => t.weight), 1];
  const padLen = tokenizer.maxLength - ids.length;
  if (padLen < 0) throw new RangeError(`chunk of ${body.length} tokens does not fit model_max_length ${tokenizer.maxLength}`);
  const pad = new Array<number>(padLen).fill(tokenizer.padTokenId);
  const ones = new Array<number>(padLen).fill(1);
  return tokenizer.paddingSide === 'right'
    ? { ids: [...ids, ...pad], multipliers: [...multipliers, ...ones], offset: 0 }
    : { ids: [...pad, ...ids], multipliers: [...ones, ...multipliers], offset: padLen };
}

/** Every text token of the first `maxChunks` chunks with its chunk and its column in the concatenated sequence. */
export function placedTokens(tokenizer: ChunkTokenizer, pc: PromptChunks, maxChunks: number): PlacedToken[] {
  const out: PlacedToken[] = [];
  pc.chunks.slice(0, maxChunks).forEach((chunk, c) => {
    const offset = tokenizer.paddingSide === 'right' ? 0 : tokenizer.maxLength - chunk.length - 2;
    chunk.forEach((t, j) => out.push({ id: t.id, weight: t.weight, chunk: c, column: c * tokenizer.maxLength + offset + 1 + j }));
  });
  return out;
}
