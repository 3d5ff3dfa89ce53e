/**
 * Mutators for the text files of a model folder (issue 5 fuzzing): JSON-valid mutations of a config object
 * (a value of the wrong type, a missing key, an unknown block type, negative/huge/fractional numbers, resized
 * lists), text-level corruption (invalid JSON, empty file, non-object JSON, byte garbage), and line-level
 * mutations of merges.txt. Each mutator returns the new file content and a short description.
 */
import type { Rng } from './fuzz.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = Array<string | number>;

/** A mutated file: its new content, or null to delete it. */
export interface TextMutation {
  readonly kind: string;
  readonly detail: string;
  readonly content: string | Buffer | null;
}

/** Every path to a value inside `v` (not the root). */
function paths(v: Json, prefix: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([...prefix, i]); paths(x, [...prefix, i], out); });
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) { out.push([...prefix, k]); paths(v[k]!, [...prefix, k], out); }
  return out;
}

function parentOf(root: Json, path: Path): { parent: Json[] | { [k: string]: Json }; key: string | number } {
  let cur: Json = root;
  for (const p of path.slice(0, -1)) cur = (cur as Record<string, Json>)[p as string]!;
  return { parent: cur as Json[] | { [k: string]: Json }, key: path[path.length - 1]! };
}

const WRONG_TYPES: Json[] = ['x', '320', '', true, false, null, [], {}, [1, 2], { a: 1 }, 1.5, 'NaN', 'Infinity'];
const HUGE: number[] = [1e9, 2 ** 31, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, 1e21, 1e300, Number.MAX_VALUE];
const NEGATIVE: number[] = [-1, -8, -320, -1e9, -0.5, -1e300];
const UNKNOWN_BLOCKS = ['FancyDownBlock2D', 'CrossAttnDownBlock3D', 'AttnDownBlock2D', 'UpBlock2D ', 'downblock2d', 'DownEncoderBlock2D', 'UpDecoderBlock2D', 'SimpleCrossAttnUpBlock2D', '', '__proto__'];
/** Keys models read, so that missing-key and inserted-key mutations also hit names the parsers look for. */
const KNOWN_KEYS = [
  'sample_size', 'in_channels', 'out_channels', 'down_block_types', 'up_block_types', 'mid_block_type', 'block_out_channels', 'layers_per_block',
  'attention_head_dim', 'num_attention_heads', 'cross_attention_dim', 'transformer_layers_per_block', 'norm_num_groups', 'addition_embed_type',
  'addition_time_embed_dim', 'projection_class_embeddings_input_dim', 'latent_channels', 'scaling_factor', 'force_upcast', 'hidden_size',
  'num_hidden_layers', 'max_position_embeddings', 'vocab_size', 'projection_dim', 'intermediate_size', 'hidden_act', 'num_train_timesteps',
  'beta_start', 'beta_end', 'beta_schedule', 'trained_betas', 'steps_offset', 'timestep_spacing', 'prediction_type', '_class_name',
  'model_max_length', 'bos_token', 'eos_token', 'unk_token', 'pad_token', 'added_tokens_decoder', 'text_encoder', 'unet', 'vae', 'tokenizer',
  'tokenizer_2', 'text_encoder_2', 'scheduler', 'class_embed_type', 'time_cond_proj_dim', 'encoder_hid_dim', 'model_type', 'text_config',
  'architectures', 'weight_map', 'padding_side', 'truncation_side', 'conv_in_kernel', 'layer_norm_eps', 'mid_block_scale_factor',
];

/** One JSON-valid mutation of a random value (or key) of `root`, in place; returns its kind and description. */
export function mutateValue(root: Json, rng: Rng): { kind: string; detail: string } {
  const all = paths(root);
  if (all.length === 0 || rng.chance(0.08)) {
    // insert a known key with a hostile value at the top level
    const key = rng.pick(KNOWN_KEYS);
    const value = rng.pick<Json>([...WRONG_TYPES, ...HUGE, ...NEGATIVE, 0, rng.pick(UNKNOWN_BLOCKS)]);
    if (root !== null && typeof root === 'object' && !Array.isArray(root)) root[key] = value;
    return { kind: 'json-insert-key', detail: `${key} = ${JSON.stringify(value)}` };
  }
  const path = rng.pick(all);
  const { parent, key } = parentOf(root, path);
  const old = (parent as Record<string, Json>)[key as string]!;
  const where = path.join('.');
  const set = (v: Json) => { (parent as Record<string, Json>)[key as string] = v; };
  const choices: string[] = ['wrong-type', 'negative', 'huge', 'zero', 'fraction'];
  if (!Array.isArray(parent)) choices.push('missing-key', 'missing-key');
  if (typeof old === 'string') choices.push('unknown-name', 'unknown-name', 'unknown-name');
  if (Array.isArray(old)) choices.push('list-resize', 'list-resize');
  if (typeof old === 'number') choices.push('number-tweak', 'number-tweak');
  const op = rng.pick(choices);
  switch (op) {
    case 'missing-key':
      delete (parent as Record<string, Json>)[key as string];
      return { kind: 'json-missing-key', detail: `deleted ${where}` };
    case 'wrong-type': {
      const v = rng.pick(WRONG_TYPES);
      set(v);
      return { kind: 'json-wrong-type', detail: `${where}: ${JSON.stringify(old)} -> ${JSON.stringify(v)}` };
    }
    case 'negative': {
      const v = rng.pick(NEGATIVE);
      set(v);
      return { kind: 'json-negative', detail: `${where} = ${v}` };
    }
    case 'huge': {
      const v = rng.pick(HUGE);
      set(v);
      return { kind: 'json-huge', detail: `${where} = ${v}` };
    }
    case 'zero':
      set(0);
      return { kind: 'json-zero', detail: `${where} = 0` };
    case 'fraction': {
      const v = typeof old === 'number' ? old + 0.5 : 0.5;
      set(v);
      return { kind: 'json-fraction', detail: `${where} = ${v}` };
    }
    case 'number-tweak': {
      const v = rng.pick([(old as number) + 1, (old as number) - 1, (old as number) * 2, Math.floor((old as number) / 2), (old as number) * 1000]);
      set(v);
      return { kind: 'json-number-tweak', detail: `${where}: ${old} -> ${v}` };
    }
    case 'unknown-name': {
      const v = rng.pick([...UNKNOWN_BLOCKS, `${old}X`, (old as string).toLowerCase(), (old as string).slice(0, -1), 'gelu_new', 'squaredcos_cap_v3', 'PNDMScheduler', 'CLIPVisionModel']);
      set(v);
      return { kind: 'json-unknown-name', detail: `${where}: ${JSON.stringify(old)} -> ${JSON.stringify(v)}` };
    }
    default: {
      const list = old as Json[];
      const r = rng.int(5);
      const v: Json[] = r === 0 ? [] : r === 1 ? list.slice(0, -1) : r === 2 ? [...list, list[list.length - 1] ?? 1] : r === 3 ? [...list].reverse() : [...list, ...list, ...list];
      set(v);
      return { kind: 'json-list-resize', detail: `${where}: length ${list.length} -> ${v.length}` };
    }
  }
}

/** A text-level corruption of a JSON file's content. */
export function corruptJsonText(text: string, rng: Rng): TextMutation {
  const op = rng.int(9);
  switch (op) {
    case 0: {
      const cut = rng.int(Math.max(1, text.length - 1));
      return { kind: 'json-truncated', detail: `cut at ${cut} of ${text.length}`, content: text.slice(0, cut) };
    }
    case 1: {
      const at = rng.int(text.length);
      const junk = rng.pick(['{', '}', ',', '"', ']', ':', '\u0000', 'NaN', '/*', '\\']);
      return { kind: 'json-invalid', detail: `inserted ${JSON.stringify(junk)} at ${at}`, content: text.slice(0, at) + junk + text.slice(at) };
    }
    case 2:
      return { kind: 'json-empty', detail: 'empty file', content: rng.pick(['', ' ', '\n']) };
    case 3: {
      const v = rng.pick(['[]', 'null', '42', '"config"', 'true', '[{"a":1}]']);
      return { kind: 'json-not-object', detail: v, content: v };
    }
    case 4:
      return { kind: 'json-bom', detail: 'UTF-8 byte order mark', content: '\ufeff' + text };
    case 5: {
      const bytes = Buffer.from(text, 'utf8');
      const n = rng.range(1, 6);
      for (let i = 0; i < n; i++) bytes[rng.int(bytes.length)] = rng.int(256);
      return { kind: 'json-byte-flip', detail: `${n} random bytes`, content: bytes };
    }
    case 6:
      return { kind: 'json-deleted', detail: 'file removed', content: null };
    case 7: {
      // deep nesting: a parser that recursed per level on hostile input would overflow the stack
      const depth = rng.pick([1000, 100000]);
      return { kind: 'json-deep-nesting', detail: `${depth} nested lists`, content: `{"sample_size": ${'['.repeat(depth)}${']'.repeat(depth)}}` };
    }
    default: {
      const bytes = Buffer.alloc(rng.range(1, 4096));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
      return { kind: 'json-random-bytes', detail: `${bytes.length} random bytes`, content: bytes };
    }
  }
}

/** A mutation of a JSON config file: mostly JSON-valid value mutations (1-3 stacked), sometimes text corruption. */
export function mutateJsonFile(text: string, rng: Rng): TextMutation {
  if (rng.chance(0.25)) return corruptJsonText(text, rng);
  const root = JSON.parse(text) as Json;
  const n = rng.chance(0.2) ? rng.range(2, 4) : 1;
  const done: Array<{ kind: string; detail: string }> = [];
  for (let i = 0; i < n; i++) done.push(mutateValue(root, rng));
  const kind = n === 1 ? done[0]!.kind : 'json-stacked';
  return { kind, detail: done.map((d) => d.detail).join('; '), content: JSON.stringify(root, null, 2) };
}

/** Line-level mutations of a BPE merges.txt (and vocab-level removals via the JSON mutator). */
export function mutateMerges(text: string, rng: Rng): TextMutation {
  const lines = text.split('\n');
  const op = rng.int(9);
  switch (op) {
    case 0: {
      const n = rng.range(1, 20);
      const out = [...lines];
      for (let i = 0; i < n && out.length > 1; i++) out.splice(rng.range(1, out.length - 1), 1);
      return { kind: 'merges-lines-removed', detail: `${n} lines removed`, content: out.join('\n') };
    }
    case 1: {
      const n = rng.range(1, 20);
      const out = [...lines];
      for (let i = 0; i < n; i++) {
        const at = rng.range(1, out.length - 1);
        out.splice(rng.range(1, out.length), 0, out[at]!);
      }
      return { kind: 'merges-lines-duplicated', detail: `${n} lines duplicated`, content: out.join('\n') };
    }
    case 2: {
      const cut = rng.int(text.length);
      return { kind: 'merges-truncated', detail: `cut at ${cut} of ${text.length}`, content: text.slice(0, cut) };
    }
    case 3:
      return { kind: 'merges-empty', detail: 'empty', content: rng.pick(['', '\n', '#version: 0.2\n']) };
    case 4:
      return { kind: 'merges-no-header', detail: 'first line removed', content: lines.slice(1).join('\n') };
    case 5: {
      const out = [...lines];
      const at = rng.range(1, out.length - 1);
      out[at] = rng.pick([`${out[at]} extra`, out[at]!.replace(' ', ''), 'a b c', '\u0000 \u0001', '</w> </w>', ' ']);
      return { kind: 'merges-bad-line', detail: `line ${at + 1}: ${JSON.stringify(out[at])}`, content: out.join('\n') };
    }
    case 6: {
      const out = [lines[0]!, ...lines.slice(1).sort(() => rng.next() - 0.5)];
      return { kind: 'merges-shuffled', detail: 'merge order shuffled', content: out.join('\n') };
    }
    case 7:
      return { kind: 'merges-crlf', detail: 'CRLF line endings', content: lines.join('\r\n') };
    default: {
      const bytes = Buffer.from(text, 'utf8');
      const n = rng.range(1, 10);
      for (let i = 0; i < n; i++) bytes[rng.int(bytes.length)] = rng.int(256);
      return { kind: 'merges-byte-flip', detail: `${n} random bytes`, content: bytes };
    }
  }
}

/** vocab.json: entries removed (the special tokens and merge results among them, sometimes). */
export function removeVocabEntries(text: string, rng: Rng): TextMutation {
  const vocab = JSON.parse(text) as Record<string, number>;
  const keys = Object.keys(vocab);
  const n = rng.pick([1, 1, 3, 10, 100, keys.length]);
  for (let i = 0; i < n; i++) delete vocab[rng.pick(keys)];
  return { kind: 'vocab-entries-removed', detail: `${n} random entries removed`, content: JSON.stringify(vocab) };
}
