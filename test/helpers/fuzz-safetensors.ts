/**
 * Mutators for safetensors files (issue 5 fuzzing), following the format's layout (8-byte little-endian
 * header length, JSON header, data): a header length that lies (past the file, huge, short), headers that are
 * not JSON or not objects, data_offsets that overlap, run out of range or are reversed, dtype/shape/byte-count
 * disagreements, renamed/removed/extra tensors, truncated data, random byte flips in the header and random
 * truncation of the whole file.
 */
import type { Rng } from './fuzz.js';

type Entry = { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
type Header = Record<string, unknown>;

/** A safetensors file taken apart: the parsed header and the data bytes after it. */
export interface SafetensorsParts {
  readonly headerText: string;
  readonly data: Buffer;
}

const split = new WeakMap<Buffer, SafetensorsParts>();
export function splitSafetensors(file: Buffer): SafetensorsParts {
  let parts = split.get(file);
  if (!parts) {
    const n = Number(file.readBigUInt64LE(0));
    split.set(file, (parts = { headerText: file.subarray(8, 8 + n).toString('utf8'), data: file.subarray(8 + n) }));
  }
  return parts;
}

/**
 * Only this much of the data section is written: the loaders never look at tensor values, so the rest of the
 * file is left as zeros (a sparse extension), which keeps thousands of multi-megabyte cases fast.
 */
const DATA_PREFIX = 64 * 1024;

/** A mutated file: its first bytes, and its full size (the file is zero-extended to it). */
export interface BinaryMutation {
  readonly kind: string;
  readonly detail: string;
  readonly content: Buffer;
  readonly size: number;
}

type Body = Pick<BinaryMutation, 'content' | 'size'>;

function assemble(headerBytes: Buffer, data: Buffer, length: bigint = BigInt(headerBytes.length)): Body {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(length);
  return { content: Buffer.concat([len, headerBytes, data.subarray(0, DATA_PREFIX)]), size: 8 + headerBytes.length + data.length };
}

function fromHeader(header: Header, data: Buffer): Body {
  return assemble(Buffer.from(JSON.stringify(header), 'utf8'), data);
}

/** The first `size` bytes of the original file. */
function prefix(original: Buffer, headerLength: number, size: number): Body {
  return { content: original.subarray(0, Math.min(size, 8 + headerLength + DATA_PREFIX)), size };
}

const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];

/** One mutation of a safetensors file (`original` is its full content). */
export function mutateSafetensors(original: Buffer, rng: Rng): BinaryMutation {
  const parts = splitSafetensors(original);
  const header = JSON.parse(parts.headerText) as Header;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = rng.pick(names);
  const entry = header[name] as Entry;
  const offsets = entry.data_offsets as [number, number];
  const shape = entry.shape as number[];
  const headerBytes = Buffer.from(parts.headerText, 'utf8');
  const op = rng.int(20);
  switch (op) {
    case 0: {
      const extra = rng.pick([1, 7, 8, 1000, 1 << 20]);
      const len = BigInt(original.length - 8 + extra);
      return { kind: 'st-length-past-file', detail: `header length ${len} for a ${original.length}-byte file`, ...assemble(headerBytes, parts.data, len) };
    }
    case 1: {
      const len = rng.pick([2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 2n ** 32n, 100n * 1024n * 1024n + 1n, 2n ** 40n]);
      return { kind: 'st-length-huge', detail: `header length ${len}`, ...assemble(headerBytes, parts.data, len) };
    }
    case 2: {
      const len = BigInt(rng.pick([0, 1, 2, rng.int(headerBytes.length)]));
      return { kind: 'st-length-short', detail: `header length ${len} of ${headerBytes.length}`, ...assemble(headerBytes, parts.data, len) };
    }
    case 3: {
      const text = rng.pick([
        parts.headerText.slice(0, rng.int(parts.headerText.length)),
        parts.headerText.replace('{', '{{'),
        parts.headerText.replace(/"dtype"/, 'dtype'),
        `${parts.headerText},`,
        'not json at all',
        '\u0000'.repeat(16),
      ]);
      return { kind: 'st-invalid-json', detail: `header ${JSON.stringify(text.slice(0, 30))}...`, ...assemble(Buffer.from(text, 'utf8'), parts.data) };
    }
    case 4: {
      const text = rng.pick(['[]', 'null', '42', '"tensors"', 'true', `[${parts.headerText}]`]);
      return { kind: 'st-not-object', detail: text.slice(0, 30), ...assemble(Buffer.from(text, 'utf8'), parts.data) };
    }
    case 5: {
      const other = rng.pick(names);
      const o = (header[other] as Entry).data_offsets as [number, number];
      const shift = rng.pick([0, 1, 4, Math.floor((o[1] - o[0]) / 2)]);
      entry.data_offsets = [o[0] + shift, o[0] + shift + (offsets[1] - offsets[0])];
      return { kind: 'st-offsets-overlap', detail: `${name} moved onto ${other} (+${shift})`, ...fromHeader(header, parts.data) };
    }
    case 6: {
      const v = rng.pick<unknown>([
        [offsets[0], parts.data.length + 4], [parts.data.length, parts.data.length + (offsets[1] - offsets[0])], [2 ** 53, 2 ** 53 + 4],
        [offsets[0], 2 ** 60], [1e300, 1e300], [offsets[0] + 0.5, offsets[1] + 0.5], [-4, offsets[1] - offsets[0] - 4],
      ]);
      entry.data_offsets = v;
      return { kind: 'st-offsets-out-of-range', detail: `${name} data_offsets ${JSON.stringify(v)}`, ...fromHeader(header, parts.data) };
    }
    case 7:
      entry.data_offsets = [offsets[1], offsets[0]];
      return { kind: 'st-offsets-reversed', detail: `${name} data_offsets [${offsets[1]}, ${offsets[0]}]`, ...fromHeader(header, parts.data) };
    case 8: {
      const v = rng.pick<unknown>([[offsets[0]], [...offsets, 0], `${offsets[0]},${offsets[1]}`, null, undefined, { begin: 0 }, ['0', '4']]);
      if (v === undefined) delete entry.data_offsets;
      else entry.data_offsets = v;
      return { kind: 'st-offsets-malformed', detail: `${name} data_offsets ${JSON.stringify(v)}`, ...fromHeader(header, parts.data) };
    }
    case 9: {
      const v = rng.pick<unknown>([...DTYPES, 'F8_E4M3', 'f32', 'float32', 'C64', 'toString', '__proto__', 3, null, undefined, '']);
      if (v === undefined) delete entry.dtype;
      else entry.dtype = v;
      return { kind: 'st-dtype-changed', detail: `${name} dtype ${JSON.stringify(v)}`, ...fromHeader(header, parts.data) };
    }
    case 10: {
      const r = rng.int(9);
      const v: unknown =
        r === 0 ? [...shape, 1] : r === 1 ? [...shape, 2] : r === 2 ? shape.map((d, i) => (i === 0 ? d * 2 : d)) : r === 3 ? [...shape].reverse()
        : r === 4 ? [-1, ...shape.slice(1)] : r === 5 ? [2 ** 40, 2 ** 40] : r === 6 ? [] : r === 7 ? shape.map(String) : [0, ...shape];
      entry.shape = v;
      return { kind: 'st-shape-changed', detail: `${name} shape ${JSON.stringify(shape)} -> ${JSON.stringify(v)}`, ...fromHeader(header, parts.data) };
    }
    case 11: {
      let renamed = rng.pick([`${name}.x`, name.replace('weight', 'bias'), name.toUpperCase(), `model.${name}`, '']);
      if (renamed === name || (renamed !== '' && header[renamed] !== undefined)) renamed = `${name}.x`;
      delete header[name];
      header[renamed] = entry;
      return { kind: 'st-tensor-renamed', detail: `${name} -> ${renamed}`, ...fromHeader(header, parts.data) };
    }
    case 12:
      delete header[name];
      return { kind: 'st-tensor-removed', detail: name, ...fromHeader(header, parts.data) };
    case 13: {
      const extra = rng.pick([
        { dtype: 'F32', shape: [0], data_offsets: [0, 0] }, { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        { dtype: 'F32', shape: [2], data_offsets: [parts.data.length, parts.data.length + 8] }, 'tensor', 7,
      ]);
      header[`extra.${rng.int(100)}`] = extra;
      return { kind: 'st-extra-entry', detail: JSON.stringify(extra), ...fromHeader(header, parts.data) };
    }
    case 14: {
      header.__metadata__ = rng.pick<unknown>([[], 'x', { format: 1 }, { format: null }, null, { a: { b: 'c' } }]);
      return { kind: 'st-metadata-malformed', detail: JSON.stringify(header.__metadata__), ...fromHeader(header, parts.data) };
    }
    case 15: {
      const keep = rng.int(parts.data.length);
      return { kind: 'st-data-truncated', detail: `data cut to ${keep} of ${parts.data.length} bytes`, ...prefix(original, headerBytes.length, 8 + headerBytes.length + keep) };
    }
    case 16:
    case 17: {
      const body = prefix(original, headerBytes.length, original.length);
      const out = Buffer.from(body.content);
      const n = rng.range(1, 8);
      for (let i = 0; i < n; i++) out[8 + rng.int(headerBytes.length)] = rng.int(256);
      return { kind: 'st-header-byte-flip', detail: `${n} random header bytes`, content: out, size: body.size };
    }
    case 18: {
      const keep = rng.int(original.length);
      return { kind: 'st-random-truncation', detail: `file cut to ${keep} of ${original.length} bytes`, ...prefix(original, headerBytes.length, keep) };
    }
    default: {
      // the dtype stays the same size but the header says integers: no longer a float weight
      const swap: Record<string, string> = { F32: 'I32', F16: rng.pick(['BF16', 'I16']), BF16: 'F16', I64: 'F64' };
      entry.dtype = swap[entry.dtype as string] ?? 'U8';
      return { kind: 'st-dtype-same-size', detail: `${name} dtype -> ${String(entry.dtype)}`, ...fromHeader(header, parts.data) };
    }
  }
}
