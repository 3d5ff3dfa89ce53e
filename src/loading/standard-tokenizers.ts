/**
 * The CLIP tokenizers of the standard SD families, built from the merge list the package ships
 * (data/clip-bpe/bpe_simple_vocab_16e6.txt.gz, MIT, Copyright (c) 2021 OpenAI; see data/clip-bpe/LICENSE).
 * Single-file checkpoints carry no tokenizer files; this is where theirs come from.
 */
import { join } from 'node:path';
import { packageRoot } from './package-root.js';
import { CLIPTokenizer } from '../tokenizers/clip-tokenizer.js';
import { deriveClipVocabulary, standardClipTokenizerSpec, type ClipPadding, type ClipVocabulary } from '../tokenizers/clip-vocabulary.js';

/** The shipped merge list. */
export function clipMergeListFile(): string {
  return join(packageRoot(), 'data', 'clip-bpe', 'bpe_simple_vocab_16e6.txt.gz');
}

let derived: ClipVocabulary | undefined;

/** The derived vocabulary (computed once per process, about 0.1 s; immutable). */
export function standardClipVocabulary(): ClipVocabulary {
  derived ??= deriveClipVocabulary(clipMergeListFile());
  return derived;
}

/**
 * Hugging Face's CLIPTokenizer for the standard models: `endoftext` padding for SD1.x and SDXL's tokenizer,
 * `exclamation` (`!`, id 0) for SD2.x and SDXL's tokenizer_2.
 * @throws TokenizerError when the shipped file is missing or damaged.
 */
export function standardClipTokenizer(padding: ClipPadding): CLIPTokenizer {
  return CLIPTokenizer.fromSpec(standardClipTokenizerSpec(standardClipVocabulary(), padding));
}
