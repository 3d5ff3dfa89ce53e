/**
 * The gallery: the PNGs of the outputs folder, newest first, each with the settings read back from its own
 * "parameters" text chunk (so images made by the CLI into the same folder appear too). Only the bytes before
 * the first IDAT chunk are read: text chunks written by this tool come before the image data.
 */
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readPngTextEntry } from '../cli/png-text.js';
import type { ModelEntry } from './models.js';
import { isSafeOutputName } from './security.js';
import { settingsFromParameters } from './settings.js';

export interface GalleryEntry {
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly modified: number;
  /** The parameters text, or null when the PNG has none. */
  readonly parameters: string | null;
  readonly settings: Record<string, unknown> | null;
}

const HEAD_BYTES = 1 << 20;
const IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/** Size and parameters text of a PNG from its first MiB; undefined when it is not a PNG. */
export function readPngHead(file: string): { width: number; height: number; parameters: string | undefined } | undefined {
  const fd = openSync(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(HEAD_BYTES);
    head = head.subarray(0, readSync(fd, head, 0, HEAD_BYTES, 0));
  } finally {
    closeSync(fd);
  }
  if (head.length < 33 || head.readUInt32BE(12) !== 0x49484452) return undefined; // IHDR first
  const width = head.readUInt32BE(16);
  const height = head.readUInt32BE(20);
  // Cut at the first IDAT and close the file so the text reader sees a whole PNG.
  let pos = 8;
  while (pos + 8 <= head.length) {
    const type = head.toString('latin1', pos + 4, pos + 8);
    if (type === 'IDAT' || type === 'IEND') break;
    pos += 12 + head.readUInt32BE(pos);
  }
  if (pos > head.length) return { width, height, parameters: undefined };
  try {
    return { width, height, parameters: readPngTextEntry(Buffer.concat([head.subarray(0, pos), IEND]), 'parameters') };
  } catch {
    return { width, height, parameters: undefined };
  }
}

/** The gallery of `outputs`, newest first, at most `limit` images. */
export function listGallery(outputs: string, models: readonly ModelEntry[], limit = 200): GalleryEntry[] {
  const files = readdirSync(outputs)
    .filter((n) => isSafeOutputName(n) && n.toLowerCase().endsWith('.png'))
    .map((n) => {
      try {
        const st = statSync(join(outputs, n));
        return st.isFile() ? { n, t: st.mtimeMs } : undefined;
      } catch {
        return undefined;
      }
    })
    .filter((x): x is { n: string; t: number } => x !== undefined)
    .sort((a, b) => b.t - a.t)
    .slice(0, limit);
  const out: GalleryEntry[] = [];
  for (const { n, t } of files) {
    let head: ReturnType<typeof readPngHead>;
    try {
      head = readPngHead(join(outputs, n));
    } catch {
      continue;
    }
    if (!head) continue;
    const parameters = head.parameters ?? null;
    out.push({ file: n, width: head.width, height: head.height, modified: t, parameters, settings: parameters ? settingsFromParameters(parameters, models) : null });
  }
  return out;
}
