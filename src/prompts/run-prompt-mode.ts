/**
 * The prompt reading of one generation: literal (diffusers, one 77-token chunk) or weighted with as many
 * 75-token chunks as the longer of prompt and negative prompt needs, at most `maxPromptChunks`. Every
 * conditioning of the run (prompt, negative prompt, AccDiffusion's window prompts) has that many chunks, so
 * they batch together; a shorter one is padded with chunks encoding "" (A1111's padding of cond/uncond).
 */
import type { EncodeMode } from './encoder-tokens.js';

/** The options that decide the reading (ResolvedOptions has them). */
export interface PromptModeOptions {
  readonly prompt: string;
  readonly negativePrompt: string | null;
  readonly promptWeighting: boolean;
  readonly maxPromptChunks: number;
}

/** The chunk count of a run; `encoder.chunksFor` counts a text's chunks over every tokenizer. */
export function runPromptMode(encoder: { chunksFor(text: string): number }, o: PromptModeOptions): EncodeMode {
  if (!o.promptWeighting) return { weighting: false, chunks: 1 };
  const needed = Math.max(encoder.chunksFor(o.prompt), o.negativePrompt === null ? 1 : encoder.chunksFor(o.negativePrompt));
  return { weighting: true, chunks: Math.min(needed, o.maxPromptChunks) };
}
