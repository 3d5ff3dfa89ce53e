/**
 * Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
 * 8-byte little-endian header length N, N bytes of JSON header, then the raw little-endian data.
 * Every number taken from a file is bounds-checked before anything is allocated from it, so a
 * hostile header fails with a WeightsError naming the file instead of exhausting memory.
 */
import { closeSync, constants, fstatSync, openSync, readSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { WeightsError, describeValue } from '../errors.js';
import { contentCause } from './file-diagnosis.js';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Largest header we accept; real headers of SDXL-size UNets are well under 1 MiB. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** One tensor's place in a safetensors file. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Absolute byte offset of the tensor data in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** The parsed header of one safetensors file. */
export interface SafetensorsHeader {
  readonly file: string;
  readonly fileSize: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, SafetensorsEntry>;
}

/** Typed array for a dtype as read from a file (F16/BF16 come back as float32). */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** A tensor loaded into memory. */
export interface LoadedTensor {
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export function dtypeBytes(dtype: SafetensorsDType): number {
  return DTYPE_BYTES[dtype];
}

/** What a file whose first bytes are no safetensors header really is, when they tell; undefined otherwise. */
function whatItIs(fd: number, size: number): string | undefined {
  const bytes = Buffer.alloc(Math.min(200, size));
  readSync(fd, bytes, 0, bytes.length, 0);
  const cause = contentCause(bytes, size);
  if (cause) return cause;
  const text = bytes.toString('latin1');
  if (/^[\x09\x0a\x0d\x20-\x7e]{8}/.test(text)) {
    const start = text.slice(0, 40).replace(/\s+/g, ' ').trim();
    return `is a ${/^\s*[[{]/.test(text) ? 'JSON' : 'text'} file (it starts "${start}"), not a .safetensors file`;
  }
  return undefined;
}

function fail(file: string, problem: string): never {
  throw new WeightsError(`${file}: ${problem}`);
}

/** One tensor entry of a header, validated against the data section (`dataSize` bytes from `dataStart`). */
function parseTensorEntry(file: string, name: string, value: unknown, dataStart: number, dataSize: number): SafetensorsEntry {
  const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof entry !== 'object' || entry === null) fail(file, `tensor "${name}": entry is not an object`);
  const dtype = entry.dtype;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) fail(file, `tensor "${name}": unsupported dtype ${describeValue(dtype)}`);
  const shape = entry.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(file, `tensor "${name}": shape ${describeValue(shape)} is not a list of non-negative integers`);
  }
  const offsets = entry.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(file, `tensor "${name}": data_offsets ${describeValue(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(file, `tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataSize) fail(file, `tensor "${name}": data_offsets [${begin}, ${end}] run past the ${dataSize} data bytes: the file is truncated (an interrupted download?); download the model again`);
  let count = 1;
  for (const d of shape as number[]) {
    count *= d;
    if (!Number.isSafeInteger(count)) fail(file, `tensor "${name}": shape ${describeValue(shape)} is too large`);
  }
  const expected = count * DTYPE_BYTES[dtype as SafetensorsDType];
  if (expected !== end - begin) {
    fail(file, `tensor "${name}": ${dtype} shape [${shape}] needs ${expected} bytes but data_offsets span ${end - begin}`);
  }
  return { name, dtype: dtype as SafetensorsDType, shape: shape as number[], byteOffset: dataStart + begin, byteLength: end - begin };
}

/** Fails when two tensors' byte ranges overlap (ranges relative to the data section). */
function checkNoOverlap(file: string, ranges: Array<[number, number, string]>): void {
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur[0] < prev[1] && cur[1] > cur[0]) fail(file, `tensors "${prev[2]}" and "${cur[2]}" overlap in the data section`);
  }
}

/** Reads and validates the header of a safetensors file without reading tensor data. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO planted under a weights name must not block forever; it is refused below.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    fail(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) fail(file, 'is not a regular file');
    const fileSize = stat.size;
    if (fileSize < 8) fail(file, `not a safetensors file: ${fileSize} bytes, shorter than the 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = lenBuf.readBigUInt64LE(0);
    // A header that cannot be one: say what the file is when its first bytes tell (a Git LFS pointer, a saved
    // HTML page, an empty or zero-filled download, a JSON or text file), not just that the length is impossible.
    const notSafetensors = (problem: string): never => fail(file, whatItIs(fd, fileSize) ?? problem);
    if (headerLen > BigInt(MAX_HEADER_BYTES)) notSafetensors(`header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    const n = Number(headerLen);
    if (8 + n > fileSize) notSafetensors(`header length ${n} runs past the end of the ${fileSize}-byte file`);
    const headerBuf = Buffer.alloc(n);
    if (n > 0) readSync(fd, headerBuf, 0, n, 8);
    let json: unknown;
    try {
      json = JSON.parse(headerBuf.toString('utf8'));
    } catch {
      notSafetensors('header is not valid JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(file, 'header is not a JSON object');
    const dataStart = 8 + n;
    const dataSize = fileSize - dataStart;
    const tensors = new Map<string, SafetensorsEntry>();
    let metadata: Record<string, string> = {};
    const ranges: Array<[number, number, string]> = [];
    for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(file, '__metadata__ is not an object');
        metadata = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          if (typeof v !== 'string') fail(file, `__metadata__.${k} is not a string`);
          metadata[k] = v;
        }
        continue;
      }
      const entry = parseTensorEntry(file, name, value, dataStart, dataSize);
      tensors.set(name, entry);
      ranges.push([entry.byteOffset - dataStart, entry.byteOffset - dataStart + entry.byteLength, name]);
    }
    checkNoOverlap(file, ranges);
    return { file, fileSize, metadata, tensors };
  } finally {
    closeSync(fd);
  }
}

/** An IEEE half-precision bit pattern as a number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function decode(dtype: SafetensorsDType, bytes: Buffer): TensorData {
  // Copy into a fresh aligned buffer: a Buffer slice may start at an unaligned offset.
  const ab = new ArrayBuffer(bytes.length);
  new Uint8Array(ab).set(bytes);
  switch (dtype) {
    case 'F32': return new Float32Array(ab);
    case 'F64': return new Float64Array(ab);
    case 'I64': return new BigInt64Array(ab);
    case 'I32': return new Int32Array(ab);
    case 'I16': return new Int16Array(ab);
    case 'I8': return new Int8Array(ab);
    case 'U8': case 'BOOL': return new Uint8Array(ab);
    case 'F16': {
      const src = new Uint16Array(ab);
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]!);
      return out;
    }
    case 'BF16': {
      const src = new Uint16Array(ab);
      const out = new Float32Array(src.length);
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < src.length; i++) u32[i] = src[i]! << 16;
      return out;
    }
  }
}

/** Reads one tensor's data (F16/BF16 widened to float32). */
export function readTensor(header: SafetensorsHeader, name: string): LoadedTensor {
  const entry = header.tensors.get(name);
  if (!entry) fail(header.file, `has no tensor named "${name}"`);
  const fd = openSync(header.file, 'r');
  try {
    const buf = Buffer.alloc(entry.byteLength);
    const got = entry.byteLength > 0 ? readSync(fd, buf, 0, entry.byteLength, entry.byteOffset) : 0;
    if (got !== entry.byteLength) fail(header.file, `tensor "${name}": file ended after ${got} of ${entry.byteLength} bytes (truncated: an interrupted download?); download the model again`);
    return { dtype: entry.dtype, shape: entry.shape, data: decode(entry.dtype, buf) };
  } finally {
    closeSync(fd);
  }
}

/** Loads every tensor of a (small) safetensors file into memory. */
export function loadSafetensors(file: string): Map<string, LoadedTensor> {
  const header = readSafetensorsHeader(file);
  const out = new Map<string, LoadedTensor>();
  for (const name of header.tensors.keys()) out.set(name, readTensor(header, name));
  return out;
}

/** A tensor to write: float32, int64 or uint8 data with its shape. */
export interface TensorToWrite {
  readonly shape: readonly number[];
  readonly data: Float32Array | BigInt64Array | Uint8Array | Uint16Array;
  /** Required for Uint16Array data (F16 or BF16 bit patterns); inferred otherwise. */
  readonly dtype?: SafetensorsDType;
}

/**
 * Writes tensors to a safetensors file, through a temporary file and a rename so that a crash
 * never leaves a half-written file behind.
 */
export function writeSafetensors(file: string, tensors: Record<string, TensorToWrite>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const dtype: SafetensorsDType = t.dtype ?? (t.data instanceof Float32Array ? 'F32' : t.data instanceof BigInt64Array ? 'I64' : t.data instanceof Uint8Array ? 'U8' : 'F16');
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    let count = 1;
    for (const d of t.shape) count *= d;
    if (count * DTYPE_BYTES[dtype] !== bytes.length) throw new RangeError(`writeSafetensors: "${name}" shape [${t.shape}] does not match its ${bytes.length} bytes`);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    parts.push(bytes);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const jsonBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(jsonBytes.length));
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, Buffer.concat([len, jsonBytes, ...parts]));
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
