/**
 * CLIP byte-level BPE tokenizer, a port of transformers' slow `CLIPTokenizer`
 * (models/clip/tokenization_clip.py, with the `BasicTokenizer` fallback used when ftfy is absent,
 * and the added-token splitting / truncation / padding of tokenization_utils(_base).py), as diffusers'
 * SD/SDXL pipelines call it (`padding="max_length", truncation=True`). See test/fixtures/ORACLE-README.md §3.4, §4.1.
 * Hand-written because @huggingface/tokenizers 0.2.0 does not match the slow tokenizer's normalisation
 * (its BertNormalizer keeps unassigned code points and does not space out supplementary-plane CJK ideographs).
 * The pieces: clip-text.ts (normalisation, pre-tokenisation), byte-level-bpe.ts, added-tokens.ts,
 * clip-tokenizer-folder.ts (reading the folder).
 */
import { AddedTokens } from './added-tokens.js';
import { BytePairEncoding, byteDecode, byteEncode } from './byte-level-bpe.js';
import { readClipTokenizerFolder, type ClipTokenizerSpec } from './clip-tokenizer-folder.js';
import { basicNormalize, CLIP_PATTERN, cleanUpTokenization, PY_STRIP } from './clip-text.js';

export { MAX_MODEL_MAX_LENGTH } from './clip-tokenizer-folder.js';

/** Result of {@link CLIPTokenizer.encodePadded}. */
export interface PaddedEncoding {
  /** Exactly `maxLength` ids: bos, text tokens, eos, padding. */
  ids: number[];
  /** The decoded text of the pieces cut by truncation (what diffusers logs), only when something was cut. */
  truncatedText?: string;
}

/** Slow CLIPTokenizer port: lower-casing BPE with `</w>` end-of-word marker and added (special) tokens. */
export class CLIPTokenizer {
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly unkTokenId: number;
  /** `model_max_length` (77 for SD/SDXL): length of {@link encodePadded} output. */
  readonly maxLength: number;
  readonly paddingSide: 'left' | 'right';
  readonly truncationSide: 'left' | 'right';

  private readonly encoder: Map<string, number>;
  private readonly decoder: Map<number, string>;
  private readonly addedTokens: AddedTokens;
  private readonly bpe: BytePairEncoding;

  private constructor(args: ClipTokenizerSpec) {
    this.encoder = args.encoder;
    this.decoder = new Map();
    for (const [tok, id] of args.encoder) this.decoder.set(id, tok);
    for (const t of args.addedTokens) this.decoder.set(t.id, t.content);
    this.addedTokens = new AddedTokens(args.addedTokens);
    this.bpe = new BytePairEncoding(args.bpeRanks, [
      // The slow tokenizer pre-seeds its BPE cache with these, so a lower-cased "<|STARTOFTEXT|>" in the text
      // (not split out as an added token, which is case-sensitive) still becomes the special id.
      ['<|startoftext|>', ['<|startoftext|>']],
      ['<|endoftext|>', ['<|endoftext|>']],
    ]);
    this.bosTokenId = args.bos;
    this.eosTokenId = args.eos;
    this.padTokenId = args.pad;
    this.unkTokenId = args.unk;
    this.maxLength = args.maxLength;
    this.paddingSide = args.paddingSide;
    this.truncationSide = args.truncationSide;
  }

  /**
   * Loads a diffusers `tokenizer/` (or `tokenizer_2/`) folder: vocab.json, merges.txt, tokenizer_config.json and,
   * if present, special_tokens_map.json (which overrides the config's special tokens, as in transformers).
   */
  static fromFolder(dir: string): CLIPTokenizer {
    return new CLIPTokenizer(readClipTokenizerFolder(dir));
  }

  /** A tokenizer from an already assembled spec (e.g. the derived standard CLIP vocabulary, clip-vocabulary.ts). */
  static fromSpec(spec: ClipTokenizerSpec): CLIPTokenizer {
    return new CLIPTokenizer(spec);
  }

  /** `tok(text).input_ids`: bos, the text's tokens, eos; no padding, no truncation. */
  encode(text: string): number[] {
    return [this.bosTokenId, ...this.encodeText(text), this.eosTokenId];
  }

  /**
   * `tok(text, padding="max_length", max_length=model_max_length, truncation=True).input_ids`, as the diffusers
   * pipelines call it. Truncation drops text tokens so that bos + tokens + eos fits.
   */
  encodePadded(text: string): PaddedEncoding {
    let body = this.encodeText(text);
    const room = this.maxLength - 2;
    let removed: number[] = [];
    if (body.length > room) {
      if (this.truncationSide === 'right') {
        removed = body.slice(room);
        body = body.slice(0, room);
      } else {
        removed = body.slice(0, body.length - room);
        body = body.slice(body.length - room);
      }
    }
    const ids = [this.bosTokenId, ...body, this.eosTokenId];
    const padding = new Array<number>(this.maxLength - ids.length).fill(this.padTokenId);
    const result: PaddedEncoding = { ids: this.paddingSide === 'right' ? [...ids, ...padding] : [...padding, ...ids] };
    if (removed.length > 0) result.truncatedText = this.decode(removed);
    return result;
  }

  /** The token strings of {@link encode} (`convert_ids_to_tokens`), with bos/eos. */
  tokens(text: string): string[] {
    return this.encode(text).map((id) => this.idToToken(id));
  }

  /** The vocabulary string of an id (byte-level characters, `</w>` kept). */
  idToToken(id: number): string {
    const tok = this.decoder.get(id);
    if (tok === undefined) throw new RangeError(`token id ${id} is not in the vocabulary`);
    return tok;
  }

  /**
   * `tok.decode(ids)` (skip_special_tokens=False, clean_up_tokenization_spaces=True): byte-decode the joined pieces
   * (invalid UTF-8 → U+FFFD), every `</w>` becomes a space, strip, then transformers' punctuation clean-up.
   */
  decode(ids: readonly number[]): string {
    const text = byteDecode(ids.map((id) => this.idToToken(id))).replaceAll('</w>', ' ').replace(PY_STRIP, '');
    return cleanUpTokenization(text);
  }

  /** Single-token decode used for AccDiffusion's patch prompts (`tok.decode(id)`): e.g. 582 → "mars", 81 → "co". */
  decodePiece(id: number): string {
    return this.decode([id]);
  }

  /** Text tokens without bos/eos: added tokens split out, the rest normalised, regex-split and BPE-merged. */
  private encodeText(text: string): number[] {
    const ids: number[] = [];
    for (const chunk of this.addedTokens.split(text)) {
      if (chunk.added) {
        ids.push(this.addedTokens.get(chunk.text)!.id);
        continue;
      }
      for (const m of basicNormalize(chunk.text).matchAll(CLIP_PATTERN)) {
        for (const piece of this.bpe.merge(byteEncode(m[0]))) {
          ids.push(this.encoder.get(piece) ?? this.unkTokenId);
        }
      }
    }
    return ids;
  }
}
