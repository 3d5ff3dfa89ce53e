/**
 * PNG text chunks (PNG spec §11.3.4: tEXt, zTXt, iTXt), written into an encoded PNG and read back.
 * sharp reads text chunks (metadata().comments) but cannot write arbitrary ones, so the CLI inserts
 * the A1111-style "parameters" chunk into sharp's output itself. Like PIL's PngInfo.add_text, text
 * that Latin-1 cannot hold goes into an uncompressed UTF-8 iTXt chunk instead of tEXt.
 */
import * as zlib from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309) of the bytes; node's zlib.crc32 only exists from Node 20.15, engines allows 20.9. */
export function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (native) return native(bytes) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One chunk: length, type, data, CRC over type + data. */
function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function isLatin1(s: string): boolean {
  return /^[\u0000-\u00ff]*$/.test(s);
}

/** The chunk bytes for one keyword/text pair (tEXt when Latin-1 holds the text, else iTXt). */
export function textChunk(keyword: string, text: string): Buffer {
  // PNG keywords are 1-79 Latin-1 printable characters.
  if (!/^[\u0020-\u007e\u00a1-\u00ff]{1,79}$/.test(keyword)) throw new RangeError(`PNG text keyword "${keyword}" is invalid`);
  if (isLatin1(text) && !text.includes('\0')) {
    return chunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]));
  }
  // iTXt: keyword\0, compression flag 0, method 0, empty language tag\0, empty translated keyword\0, UTF-8 text.
  return chunk('iTXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]));
}

interface RawChunk {
  readonly type: string;
  /** Offset of the chunk's length field. */
  readonly start: number;
  readonly data: Buffer;
}

function* chunks(png: Buffer): Generator<RawChunk> {
  if (png.length < 8 || !png.subarray(0, 8).equals(SIGNATURE)) throw new RangeError('not a PNG file');
  let pos = 8;
  while (pos + 12 <= png.length) {
    const length = png.readUInt32BE(pos);
    if (pos + 12 + length > png.length) throw new RangeError(`PNG chunk at byte ${pos} runs past the end of the file`);
    const type = png.toString('latin1', pos + 4, pos + 8);
    yield { type, start: pos, data: png.subarray(pos + 8, pos + 8 + length) };
    pos += 12 + length;
    if (type === 'IEND') return;
  }
}

/** A copy of `png` with text chunks inserted before the first IDAT. */
export function insertPngText(png: Buffer, entries: Readonly<Record<string, string>>): Buffer {
  for (const c of chunks(png)) {
    if (c.type === 'IDAT') {
      const extra = Object.entries(entries).map(([k, v]) => textChunk(k, v));
      return Buffer.concat([png.subarray(0, c.start), ...extra, png.subarray(c.start)]);
    }
  }
  throw new RangeError('PNG has no IDAT chunk');
}

/** Every tEXt, zTXt and iTXt entry of a PNG, in file order. */
export function readPngText(png: Buffer): Array<{ keyword: string; text: string }> {
  const out: Array<{ keyword: string; text: string }> = [];
  for (const c of chunks(png)) {
    if (c.type !== 'tEXt' && c.type !== 'zTXt' && c.type !== 'iTXt') continue;
    const nul = c.data.indexOf(0);
    if (nul < 1) continue;
    const keyword = c.data.toString('latin1', 0, nul);
    if (c.type === 'tEXt') {
      out.push({ keyword, text: c.data.toString('latin1', nul + 1) });
    } else if (c.type === 'zTXt') {
      out.push({ keyword, text: zlib.inflateSync(c.data.subarray(nul + 2)).toString('latin1') });
    } else {
      const compressed = c.data[nul + 1] === 1;
      const langEnd = c.data.indexOf(0, nul + 3);
      const transEnd = langEnd < 0 ? -1 : c.data.indexOf(0, langEnd + 1);
      if (transEnd < 0) continue;
      const body = c.data.subarray(transEnd + 1);
      out.push({ keyword, text: (compressed ? zlib.inflateSync(body) : body).toString('utf8') });
    }
  }
  return out;
}

/** The text of the first chunk with this keyword, or undefined. */
export function readPngTextEntry(png: Buffer, keyword: string): string | undefined {
  return readPngText(png).find((e) => e.keyword === keyword)?.text;
}
