/**
 * Reading and validating a diffusers `tokenizer/` (or `tokenizer_2/`) folder for the CLIP tokenizer:
 * vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json, resolved the way transformers'
 * slow `CLIPTokenizer.from_pretrained` does (tokenization_clip.py, tokenization_utils_base.py), but
 * stricter: every malformed file ends in one TokenizerError naming it (see test/reliability).
 */
import { join } from 'node:path';
import { TokenizerError, describeValue } from '../errors.js';
import { readTextFile } from '../weights/read-text-file.js';
import type { AddedToken } from './added-tokens.js';
import { PY_SPLIT, PY_STRIP } from './clip-text.js';
import { parsePythonJson } from '../weights/python-json.js';
import { downloadCause, interruptedDownloadNote, truncatedJsonCause } from '../weights/file-diagnosis.js';

/** Largest model_max_length accepted (CLIP text encoders have 77 positions; this leaves wide room). */
export const MAX_MODEL_MAX_LENGTH = 65536;

/** Everything a CLIP tokenizer needs, as read from its folder. */
export interface ClipTokenizerSpec {
  encoder: Map<string, number>;
  bpeRanks: Map<string, number>;
  addedTokens: AddedToken[];
  bos: number; eos: number; pad: number; unk: number;
  maxLength: number; paddingSide: 'left' | 'right'; truncationSide: 'left' | 'right';
}

function fail(file: string, problem: string): never {
  throw new TokenizerError(`${file}: ${problem}`);
}

function readText(file: string, required: boolean): string | undefined {
  const cause = downloadCause(file);
  if (cause) fail(file, cause);
  let text: string;
  try {
    text = readTextFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    fail(file, code === 'ENOENT' ? `file not found${interruptedDownloadNote(file)}` : `cannot be read (${code ?? String(e)})`);
  }
  if (text.trim().length === 0) fail(file, 'file is empty');
  return text;
}

function readJsonObject(file: string, required: boolean): Record<string, unknown> | undefined {
  const text = readText(file, required);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = parsePythonJson(text);
  } catch (e) {
    fail(file, truncatedJsonCause(text, e) ?? `malformed JSON (${(e as Error).message.split('\n')[0]})`);
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

/**
 * merges.txt: a `#version` header line, then one "left right" pair per line, rank = line order
 * (the slow tokenizer skips line 1, ignores blank lines and keeps at most 49152-256-2 merges; a later duplicate overrides an earlier rank).
 */
function readMerges(file: string, encoder: Map<string, number>): Map<string, number> {
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

/**
 * Loads a tokenizer folder: vocab.json, merges.txt, tokenizer_config.json and, if present,
 * special_tokens_map.json (which overrides the config's special tokens, as in transformers).
 */
export function readClipTokenizerFolder(dir: string): ClipTokenizerSpec {
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

  const bpeRanks = readMerges(mergesFile, encoder);

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

  return {
    encoder, bpeRanks, addedTokens: [...added.values()], bos, eos, pad, unk,
    maxLength, paddingSide: side('padding_side'), truncationSide: side('truncation_side'),
  };
}
