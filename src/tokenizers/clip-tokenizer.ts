/**
 * CLIP byte-level BPE tokenizer, a port of transformers' slow `CLIPTokenizer`
 * (models/clip/tokenization_clip.py, with the `BasicTokenizer` fallback used when ftfy is absent,
 * and the added-token splitting / truncation / padding of tokenization_utils(_base).py), as diffusers'
 * SD/SDXL pipelines call it (`padding="max_length", truncation=True`). See test/fixtures/ORACLE-README.md §3.4, §4.1.
 * Hand-written because @huggingface/tokenizers 0.2.0 does not match the slow tokenizer's normalisation
 * (its BertNormalizer keeps unassigned code points and does not space out supplementary-plane CJK ideographs).
 */
import { readTextFile } from '../weights/read-text-file.js';

import { join } from 'node:path';
import { TokenizerError, describeValue } from '../errors.js';

/** An added token (special tokens and `added_tokens_decoder` entries): split out of the text, never BPE-merged. */
interface AddedToken {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

/** Result of {@link CLIPTokenizer.encodePadded}. */
export interface PaddedEncoding {
  /** Exactly `maxLength` ids: bos, text tokens, eos, padding. */
  ids: number[];
  /** The decoded text of the pieces cut by truncation (what diffusers logs), only when something was cut. */
  truncatedText?: string;
}

/** The CLIP regex (transformers' `self.pat`); the text is already lower-cased, `i` mirrors re.IGNORECASE. */
const CLIP_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/** Python's str.isspace() set, used where Python strips/splits (JS \s differs on \x1c-\x1f, \x85, \ufeff). */
const PY_SPACE = '[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const PY_SPLIT = new RegExp(`${PY_SPACE}+`, 'u');
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'gu');
const PY_LSTRIP = new RegExp(`^${PY_SPACE}+`, 'u');
const PY_RSTRIP = new RegExp(`${PY_SPACE}+$`, 'u');

/**
 * GPT-2/CLIP `bytes_to_unicode`: printable bytes map to themselves, the others to code points 256+,
 * so every byte string becomes a string of visible characters that BPE can work on.
 */
function bytesToUnicode(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
  }
  return table;
}

const BYTE_ENCODER = bytesToUnicode();
const BYTE_DECODER = new Map(BYTE_ENCODER.map((ch, b) => [ch, b]));
const UTF8 = new TextEncoder();

/** BERT's notion of a CJK ideograph (BasicTokenizer._is_chinese_char). */
function isChineseChar(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/**
 * transformers' BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize joined by spaces:
 * drop NUL/U+FFFD/control (category C*) chars, whitespace → space, space out CJK, NFC, split, lower-case.
 */
function basicNormalize(text: string): string {
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\t' || ch === '\n' || ch === '\r' || /\p{Zs}/u.test(ch)) cleaned += ' ';
    else if (cp === 0 || cp === 0xfffd || /\p{C}/u.test(ch)) continue;
    else if (isChineseChar(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  return cleaned.normalize('NFC').split(PY_SPLIT).filter((w) => w.length > 0).map((w) => w.toLowerCase()).join(' ');
}

/** transformers' `clean_up_tokenization` (clean_up_tokenization_spaces=True in the CLIP configs). */
function cleanUpTokenization(s: string): string {
  return s.replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

/** Largest model_max_length accepted (CLIP text encoders have 77 positions; this leaves wide room). */
export const MAX_MODEL_MAX_LENGTH = 65536;

function fail(file: string, problem: string): never {
  throw new TokenizerError(`${file}: ${problem}`);
}

function readText(file: string, required: boolean): string | undefined {
  let text: string;
  try {
    text = readTextFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    fail(file, code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(e)})`);
  }
  if (text.trim().length === 0) fail(file, 'file is empty');
  return text;
}

function readJsonObject(file: string, required: boolean): Record<string, unknown> | undefined {
  const text = readText(file, required);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    fail(file, `malformed JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(file, 'expected a JSON object');
  return value as Record<string, unknown>;
}

/** A special-token setting: a plain string or a serialized AddedToken `{content, lstrip, ...}`. */
function tokenSetting(file: string, key: string, value: unknown): Omit<AddedToken, 'id'> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return { content: value, lstrip: false, rstrip: false, singleWord: false };
  if (typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    const v = value as { content: string; lstrip?: unknown; rstrip?: unknown; single_word?: unknown };
    return { content: v.content, lstrip: v.lstrip === true, rstrip: v.rstrip === true, singleWord: v.single_word === true };
  }
  fail(file, `${key} must be a string or an object with a "content" string`);
}

/** Text pieces after splitting out added tokens; `added` marks the pieces that are added tokens. */
interface Chunk {
  text: string;
  added: boolean;
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
  private readonly bpeRanks: Map<string, number>;
  /** Added tokens by content; longest first so the split is leftmost-longest like transformers' Trie. */
  private readonly addedTokens: Map<string, AddedToken>;
  private readonly addedByLength: AddedToken[];
  private readonly cache = new Map<string, string[]>([
    // The slow tokenizer pre-seeds its BPE cache with these, so a lower-cased "<|STARTOFTEXT|>" in the text
    // (not split out as an added token, which is case-sensitive) still becomes the special id.
    ['<|startoftext|>', ['<|startoftext|>']],
    ['<|endoftext|>', ['<|endoftext|>']],
  ]);

  private constructor(args: {
    encoder: Map<string, number>;
    bpeRanks: Map<string, number>;
    addedTokens: AddedToken[];
    bos: number; eos: number; pad: number; unk: number;
    maxLength: number; paddingSide: 'left' | 'right'; truncationSide: 'left' | 'right';
  }) {
    this.encoder = args.encoder;
    this.decoder = new Map();
    for (const [tok, id] of args.encoder) this.decoder.set(id, tok);
    this.bpeRanks = args.bpeRanks;
    this.addedTokens = new Map();
    for (const t of args.addedTokens) {
      this.addedTokens.set(t.content, t);
      this.decoder.set(t.id, t.content);
    }
    this.addedByLength = [...this.addedTokens.values()].sort((a, b) => b.content.length - a.content.length);
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
    const vocabFile = join(dir, 'vocab.json');
    const mergesFile = join(dir, 'merges.txt');
    const configFile = join(dir, 'tokenizer_config.json');
    const mapFile = join(dir, 'special_tokens_map.json');

    const vocabJson = readJsonObject(vocabFile, true)!;
    const encoder = new Map<string, number>();
    for (const [tok, id] of Object.entries(vocabJson)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        fail(vocabFile, `token ${describeValue(tok)} has id ${describeValue(id)}, expected a non-negative integer`);
      }
      encoder.set(tok, id);
    }
    if (encoder.size === 0) fail(vocabFile, 'vocabulary is empty');

    const bpeRanks = CLIPTokenizer.readMerges(mergesFile, encoder);

    const config = readJsonObject(configFile, true)!;
    const specialMap = readJsonObject(mapFile, false) ?? {};

    const maxLength = config.model_max_length;
    // Bounded because encodePadded allocates model_max_length ids: a hostile 1e12 must not exhaust memory.
    // transformers' "no limit" placeholder (1e30) is refused too: the pipelines pad to this length.
    if (typeof maxLength !== 'number' || !Number.isInteger(maxLength) || maxLength < 2 || maxLength > MAX_MODEL_MAX_LENGTH) {
      fail(configFile, `model_max_length must be an integer >= 2 and <= ${MAX_MODEL_MAX_LENGTH}, got ${describeValue(maxLength)}`);
    }
    const side = (key: string): 'left' | 'right' => {
      const v = config[key] ?? 'right';
      if (v !== 'left' && v !== 'right') fail(configFile, `${key} must be "left" or "right", got ${describeValue(v)}`);
      return v;
    };

    // Entries of added_tokens_decoder come first and keep their flags (transformers adds the special tokens after).
    const added = new Map<string, AddedToken>();
    const decoderJson = config.added_tokens_decoder ?? {};
    if (typeof decoderJson !== 'object' || decoderJson === null || Array.isArray(decoderJson)) {
      fail(configFile, 'added_tokens_decoder must be an object');
    }
    for (const [idText, value] of Object.entries(decoderJson)) {
      const id = Number(idText);
      if (!/^\d+$/.test(idText) || !Number.isSafeInteger(id)) fail(configFile, `added_tokens_decoder key ${JSON.stringify(idText)} is not a token id`);
      const t = tokenSetting(configFile, `added_tokens_decoder["${idText}"]`, value);
      if (!t) fail(configFile, `added_tokens_decoder["${idText}"] is null`);
      added.set(t.content, { ...t, id });
    }

    const special = (key: string, required: boolean): number => {
      const fromMap = tokenSetting(mapFile, key, specialMap[key]);
      const setting = fromMap ?? tokenSetting(configFile, key, config[key]);
      if (!setting) {
        if (required) fail(configFile, `no ${key} is set (neither here nor in special_tokens_map.json)`);
        return -1;
      }
      // Stricter than transformers (which would accept an id from added_tokens_decoder alone): a CLIP vocab
      // always holds its special tokens, so a vocab without them is the wrong file.
      const id = encoder.get(setting.content);
      if (id === undefined) fail(vocabFile, `special token ${JSON.stringify(setting.content)} (${key}) is not in the vocabulary`);
      const tok = added.get(setting.content);
      if (!tok) added.set(setting.content, { ...setting, id });
      else if (tok.id !== id) {
        fail(configFile, `added_tokens_decoder gives ${key} ${JSON.stringify(tok.content)} id ${tok.id} but vocab.json has ${id}`);
      }
      return id;
    };
    // transformers' SPECIAL_TOKENS_ATTRIBUTES order.
    const bos = special('bos_token', true);
    const eos = special('eos_token', true);
    const unk = special('unk_token', true);
    const pad = special('pad_token', true);

    return new CLIPTokenizer({
      encoder, bpeRanks, addedTokens: [...added.values()], bos, eos, pad, unk,
      maxLength, paddingSide: side('padding_side'), truncationSide: side('truncation_side'),
    });
  }

  /**
   * merges.txt: a `#version` header line, then one "left right" pair per line, rank = line order
   * (the slow tokenizer skips line 1, ignores blank lines and keeps at most 49152-256-2 merges; a later duplicate overrides an earlier rank).
   */
  private static readMerges(file: string, encoder: Map<string, number>): Map<string, number> {
    const lines = readText(file, true)!.replace(PY_STRIP, '').split('\n');
    if (!lines[0]!.startsWith('#version')) {
      fail(file, `line 1 must be the "#version" header, got ${JSON.stringify(lines[0]!.slice(0, 40))}`);
    }
    const ranks = new Map<string, number>();
    const merges = lines.slice(1, 49152 - 256 - 2 + 1);
    merges.forEach((line, i) => {
      const parts = line.split(PY_SPLIT).filter((p) => p.length > 0);
      if (parts.length === 0) return; // the slow tokenizer tolerates blank lines (they match no pair)
      if (parts.length !== 2) fail(file, `line ${i + 2}: expected two space-separated symbols, got ${JSON.stringify(line.slice(0, 40))}`);
      const [a, b] = parts as [string, string];
      if (!encoder.has(a + b)) fail(file, `line ${i + 2}: merge result ${JSON.stringify(a + b)} is not in vocab.json`);
      ranks.set(`${a} ${b}`, i);
    });
    return ranks;
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
    const bytes: number[] = [];
    for (const id of ids) {
      for (const ch of this.idToToken(id)) {
        const b = BYTE_DECODER.get(ch);
        if (b !== undefined) bytes.push(b);
        else bytes.push(...UTF8.encode(ch));
      }
    }
    const text = new TextDecoder('utf-8').decode(new Uint8Array(bytes)).replaceAll('</w>', ' ').replace(PY_STRIP, '');
    return cleanUpTokenization(text);
  }

  /** Single-token decode used for AccDiffusion's patch prompts (`tok.decode(id)`): e.g. 582 → "mars", 81 → "co". */
  decodePiece(id: number): string {
    return this.decode([id]);
  }

  /** Text tokens without bos/eos: added tokens split out, the rest normalised, regex-split and BPE-merged. */
  private encodeText(text: string): number[] {
    const ids: number[] = [];
    for (const chunk of this.splitAddedTokens(text)) {
      if (chunk.added) {
        ids.push(this.addedTokens.get(chunk.text)!.id);
        continue;
      }
      for (const m of basicNormalize(chunk.text).matchAll(CLIP_PATTERN)) {
        let word = '';
        for (const b of UTF8.encode(m[0])) word += BYTE_ENCODER[b];
        for (const piece of this.bpe(word)) {
          ids.push(this.encoder.get(piece) ?? this.unkTokenId);
        }
      }
    }
    return ids;
  }

  /**
   * transformers' tokenize(): leftmost-longest split on added tokens, then their lstrip/rstrip/single_word rules;
   * a piece is an added token iff its text equals one (as in the original's `token in no_split_token`).
   */
  private splitAddedTokens(text: string): Chunk[] {
    const parts: string[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const hit = this.addedByLength.find((t) => text.startsWith(t.content, i));
      if (!hit || hit.content.length === 0) {
        i++;
        continue;
      }
      if (i > start) parts.push(text.slice(start, i));
      parts.push(hit.content);
      i += hit.content.length;
      start = i;
    }
    if (start < text.length) parts.push(text.slice(start));

    const isAdded = parts.map((p) => this.addedTokens.has(p));
    for (let k = 0; k < parts.length; k++) {
      if (!isAdded[k]) continue;
      const tok = this.addedTokens.get(parts[k]!)!;
      const left = k > 0 ? parts[k - 1]! : '';
      const right = k < parts.length - 1 ? parts[k + 1]! : '';
      if (tok.rstrip && right) parts[k + 1] = right.replace(PY_LSTRIP, '');
      if (tok.lstrip && left) parts[k - 1] = left.replace(PY_RSTRIP, '');
      if (tok.singleWord && left && !left.endsWith(' ')) {
        parts[k - 1] += parts[k];
        parts[k] = '';
      } else if (tok.singleWord && right && !right.startsWith(' ')) {
        parts[k] += right;
        parts[k + 1] = '';
      }
    }
    return parts.filter((p) => p.length > 0).map((p) => ({ text: p, added: this.addedTokens.has(p) }));
  }

  /** CLIP BPE on one byte-encoded word: repeatedly merge every occurrence of the lowest-ranked adjacent pair. */
  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    let word = [...token];
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best: string | undefined;
      let bestRank = Infinity;
      for (let k = 0; k < word.length - 1; k++) {
        const rank = this.bpeRanks.get(`${word[k]} ${word[k + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = `${word[k]} ${word[k + 1]}`;
        }
      }
      if (best === undefined) break;
      const [first, second] = best.split(' ') as [string, string];
      const merged: string[] = [];
      for (let k = 0; k < word.length; k++) {
        if (k < word.length - 1 && word[k] === first && word[k + 1] === second) {
          merged.push(first + second);
          k++;
        } else {
          merged.push(word[k]!);
        }
      }
      word = merged;
    }
    this.cache.set(token, word);
    return word;
  }
}
