/**
 * The token rows one text encoder runs for one prompt, in the two ways prompts can be read:
 *
 * - literal (diffusers): the text as typed, `padding="max_length", truncation=True` (one row of 77; the tokens past
 *   75 are cut, and the cut text is returned for diffusers' warning);
 * - weighted (A1111/ComfyUI): the emphasis syntax parsed (prompt-attention.ts), the tokens cut into chunks of 75
 *   (prompt-chunks.ts), exactly `chunks` rows of 77 with each token's weight; chunks past the prompt's own are
 *   the encoding of "" (A1111's padding of the shorter of prompt and negative prompt), chunks past `chunks`
 *   are dropped and their text returned as cut.
 */
import { paddedChunk, promptChunks, type ChunkTokenizer } from './prompt-chunks.js';

/** How a prompt is read and how many 77-token chunks every row has. */
export interface EncodeMode {
  /** Parse A1111's emphasis syntax and apply the weights (false: diffusers' literal text, one chunk). */
  readonly weighting: boolean;
  /** Chunks of 77 tokens per row (1 in literal mode). */
  readonly chunks: number;
  /**
   * Who wrote the text: `user` (default) and `negative` prompts that are cut raise the truncation warning,
   * naming the cut words; `window` prompts (built by AccDiffusion from the user's words) are counted into one
   * warning that shows none of their text and does not blame the user.
   */
  readonly source?: 'user' | 'negative' | 'window';
}

/** diffusers' reading: literal text, one chunk of 77. */
export const LITERAL_MODE: EncodeMode = { weighting: false, chunks: 1 };

/** A tokenizer that can also pad and decode (CLIPTokenizer). */
export interface EncoderTokenizer extends ChunkTokenizer {
  encodePadded(text: string): { ids: number[]; truncatedText?: string };
  decode(ids: readonly number[]): string;
}

/** One prompt's rows for one encoder. */
export interface EncoderTokens {
  /** chunks·maxLength ids, chunk after chunk. */
  readonly ids: number[];
  /** Per chunk, the weight of each of its maxLength positions; absent in literal mode. */
  readonly multipliers?: number[][];
  /** The decoded text that did not fit, when something was cut. */
  readonly cutText?: string;
  /** Text tokens of the prompt and how many were kept. */
  readonly tokenCount: number;
  readonly keptTokens: number;
}

/** The rows of `text` for one encoder under `mode` (see the file header). */
export function encoderTokens(tokenizer: EncoderTokenizer, text: string, mode: EncodeMode): EncoderTokens {
  if (!mode.weighting) {
    if (mode.chunks !== 1) throw new RangeError(`literal prompts have one chunk, asked for ${mode.chunks}`);
    const enc = tokenizer.encodePadded(text);
    const tokenCount = tokenizer.encode(text).length - 2;
    return { ids: enc.ids, tokenCount, keptTokens: Math.min(tokenCount, tokenizer.maxLength - 2), ...(enc.truncatedText !== undefined ? { cutText: enc.truncatedText } : {}) };
  }
  const pc = promptChunks(tokenizer, text, true);
  const ids: number[] = [];
  const multipliers: number[][] = [];
  for (let c = 0; c < mode.chunks; c++) {
    const row = paddedChunk(tokenizer, pc, c);
    ids.push(...row.ids);
    multipliers.push(row.multipliers);
  }
  const all = pc.chunks.flat();
  const kept = pc.chunks.slice(0, mode.chunks).flat().length;
  const cut = pc.chunks.slice(mode.chunks).flat().map((t) => t.id);
  return { ids, multipliers, tokenCount: all.length, keptTokens: kept, ...(cut.length > 0 ? { cutText: tokenizer.decode(cut) } : {}) };
}

/** Chunks `text` needs under weighting (at least 1). */
export function chunkCount(tokenizer: ChunkTokenizer, text: string): number {
  return promptChunks(tokenizer, text, true).chunks.length;
}
