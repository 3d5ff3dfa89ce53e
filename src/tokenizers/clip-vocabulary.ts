/**
 * The standard CLIP vocabulary (SD1.x's CLIP ViT-L/14, SD2.x's OpenCLIP ViT-H/14, SDXL's two encoders), derived at
 * load time from OpenAI's merge list `bpe_simple_vocab_16e6.txt.gz` (openai/CLIP `clip/simple_tokenizer.py`, MIT; the
 * package ships it with its licence in data/clip-bpe/). The derivation is the one transformers' `vocab.json` /
 * `merges.txt` follow from (data/clip-bpe/README.md): ids 0-255 the byte-level characters, 256-511 the same with
 * `</w>`, then one entry per used merge (decompressed lines 1..48,894), then `<|startoftext|>`, `<|endoftext|>`.
 * Used for single-file checkpoints, which carry no tokenizer.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { TokenizerError } from '../errors.js';
import { BYTE_ENCODER } from './byte-level-bpe.js';
import type { ClipTokenizerSpec } from './clip-tokenizer-folder.js';

/** Number of merges transformers and OpenAI use (`49152 - 256 - 2`). */
export const CLIP_MERGE_COUNT = 49152 - 256 - 2;

/** The derived tables: `tokens[id]` is the vocabulary string of id; `merges[rank]` is "left right". */
export interface ClipVocabulary {
  readonly tokens: readonly string[];
  readonly merges: readonly string[];
}

/**
 * Derives the 49,408-entry vocabulary from the gzipped merge list.
 * @throws TokenizerError when the file is unreadable, not gzip, or has fewer merges than CLIP uses.
 */
export function deriveClipVocabulary(gzFile: string): ClipVocabulary {
  let text: string;
  try {
    text = gunzipSync(readFileSync(gzFile)).toString('utf8');
  } catch (e) {
    throw new TokenizerError(`${gzFile}: cannot read the CLIP merge list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lines = text.split('\n');
  const merges = lines.slice(1, CLIP_MERGE_COUNT + 1);
  if (merges.length !== CLIP_MERGE_COUNT) throw new TokenizerError(`${gzFile}: has ${merges.length} merges, CLIP uses ${CLIP_MERGE_COUNT}`);
  // bytes_to_unicode()'s order: the printable bytes, then the others (mapped to U+0100..), i.e. by code point.
  const chars = [...BYTE_ENCODER].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const tokens: string[] = [...chars, ...chars.map((c) => `${c}</w>`)];
  merges.forEach((m, i) => {
    const parts = m.split(' ');
    if (parts.length !== 2) throw new TokenizerError(`${gzFile}: line ${i + 2} is not a merge of two symbols`);
    tokens.push(parts[0]! + parts[1]!);
  });
  tokens.push('<|startoftext|>', '<|endoftext|>');
  return { tokens, merges };
}

/** SD1.x / SDXL tokenizer 1 pad with `<|endoftext|>`; SD2.x / SDXL tokenizer_2 pad with `!` (id 0). */
export type ClipPadding = 'endoftext' | 'exclamation';

/**
 * The spec of Hugging Face's `CLIPTokenizer` for the standard models (openai/clip-vit-large-patch14 and the SD2/SDXL
 * tokenizer_2 configs): model_max_length 77, right padding and truncation, bos `<|startoftext|>`, eos = unk
 * `<|endoftext|>`, pad per `padding` (with `!` as pad, transformers makes it a special added token).
 */
export function standardClipTokenizerSpec(vocab: ClipVocabulary, padding: ClipPadding): ClipTokenizerSpec {
  const encoder = new Map(vocab.tokens.map((t, i) => [t, i] as [string, number]));
  const bpeRanks = new Map(vocab.merges.map((m, i) => [m, i] as [string, number]));
  const bos = encoder.get('<|startoftext|>')!;
  const eos = encoder.get('<|endoftext|>')!;
  const plain = { lstrip: false, rstrip: false, singleWord: false };
  const addedTokens = [
    ...(padding === 'exclamation' ? [{ content: '!', id: 0, ...plain }] : []),
    { content: '<|startoftext|>', id: bos, ...plain },
    { content: '<|endoftext|>', id: eos, ...plain },
  ];
  return {
    encoder, bpeRanks, addedTokens, bos, eos, unk: eos, pad: padding === 'exclamation' ? 0 : eos,
    maxLength: 77, paddingSide: 'right', truncationSide: 'right',
  };
}
