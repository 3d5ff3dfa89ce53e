/**
 * Reads a small text file of a model folder (config.json, tokenizer files, index files) safely: a FIFO or
 * device planted under that name (possible in a downloaded archive) must not block or stream forever,
 * so the file is opened non-blocking, must be a regular file, and is size-limited before reading.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Largest config/tokenizer file accepted (real vocab.json files are a few MiB). */
export const MAX_TEXT_FILE_BYTES = 64 * 1024 * 1024;

/** Like readFileSync(file, 'utf8'); failures are errors whose `code` reads well in a message. */
export function readTextFile(file: string, maxBytes = MAX_TEXT_FILE_BYTES): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'not a regular file' });
    if (stat.size > maxBytes) throw Object.assign(new Error(`${file} is larger than ${maxBytes} bytes`), { code: `larger than ${maxBytes} bytes` });
    const buf = Buffer.alloc(stat.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
