/**
 * Why a model file is unreadable, in the user's terms: the ways a download leaves a model folder broken or
 * incomplete, each recognised from the file itself, so that an error names the cause and the fix instead of
 * the symptom (a JSON syntax error at "v", a safetensors header length of 2^61):
 * - a Git LFS pointer (`git clone` without git-lfs, or without `git lfs pull`);
 * - an HTML page saved under the file's name (an error, login or "gated model" page);
 * - an empty or all-zero file, or one that ends early (an interrupted or preallocated download);
 * - a broken symlink (a Hugging Face cache snapshot whose blob is missing: interrupted or cleaned cache).
 * Reads at most the first 1 KiB of a regular file (never opens a FIFO or device); never throws.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const REDOWNLOAD = 'download the model again (e.g. `huggingface-cli download <repo>`)';

/** The first bytes of a file and its size, or undefined when it cannot be opened. */
function head(file: string, n = 1024): { bytes: Buffer; size: number } | undefined {
  try {
    const st = statSync(file);
    // only regular files: opening a FIFO planted under a model file's name would block
    if (!st.isFile()) return undefined;
    const size = st.size;
    const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const bytes = Buffer.alloc(Math.min(n, size));
      const got = readSync(fd, bytes, 0, bytes.length, 0);
      return { bytes: bytes.subarray(0, got), size };
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** The cause when `file` is a symlink whose target does not exist; undefined otherwise. */
export function brokenLinkCause(file: string): string | undefined {
  try {
    if (!lstatSync(file).isSymbolicLink()) return undefined;
  } catch {
    return undefined;
  }
  try {
    statSync(file);
    return undefined;
  } catch {
    let target = '?';
    try {
      target = resolve(dirname(file), readlinkSync(file));
    } catch {
      // keep '?'
    }
    return `is a broken link to ${target} (the Hugging Face cache lost that blob: an interrupted download or a cleaned cache); ${REDOWNLOAD}`;
  }
}

/** The cause when the first bytes show that a file is not what it claims (LFS pointer, HTML page, empty, zeros). */
export function contentCause(bytes: Uint8Array, size: number): string | undefined {
  if (size === 0) return `is empty (0 bytes): an interrupted download; ${REDOWNLOAD}`;
  const text = Buffer.from(bytes.subarray(0, 200)).toString('latin1');
  if (text.startsWith('version https://git-lfs.github.com/spec/')) {
    return `is a Git LFS pointer (${size} bytes), not the file: the repository was cloned without its large files; run \`git lfs install && git lfs pull\` in the clone, or ${REDOWNLOAD}`;
  }
  if (/^\s*<(!doctype\s+html|html[\s>]|head[\s>]|\?xml)/i.test(text)) {
    return `is an HTML/XML page (${size} bytes), not a model file: a download saved an error or login page (a gated model needs accepting its licence and a token); ${REDOWNLOAD}`;
  }
  if (bytes.length > 0 && bytes.every((b) => b === 0)) {
    return `starts with only zero bytes: an interrupted or preallocated download; ${REDOWNLOAD}`;
  }
  return undefined;
}

/** The download-related cause of a file's unreadability (broken link, then content), or undefined. */
export function downloadCause(file: string): string | undefined {
  const link = brokenLinkCause(file);
  if (link) return link;
  const h = head(file);
  return h ? contentCause(h.bytes, h.size) : undefined;
}

/** The cause for a text whose JSON parse failed at its very end (the file ends early), or undefined. */
export function truncatedJsonCause(text: string, error: unknown): string | undefined {
  const msg = error instanceof Error ? error.message : String(error);
  const at = /at position (\d+)/.exec(msg);
  const atEnd = at !== null && Number(at[1]) >= text.trimEnd().length;
  if ((/Unexpected end of JSON input|Unterminated string/.test(msg) || atEnd) && text.trim().length > 0) {
    return `ends early after ${Buffer.byteLength(text)} bytes (an interrupted download?); ${REDOWNLOAD}`;
  }
  return undefined;
}

/**
 * For a missing `file` inside a Hugging Face cache snapshot (…/models--org--name/snapshots/<hash>/…): a note
 * naming the `*.incomplete` blobs an interrupted huggingface_hub download leaves; '' when there are none.
 */
export function interruptedDownloadNote(file: string): string {
  const m = /^(.*[\\/]models--[^\\/]+)[\\/]snapshots[\\/][^\\/]+[\\/]/.exec(file);
  if (!m) return '';
  try {
    const blobs = resolve(m[1]!, 'blobs');
    const partial = readdirSync(blobs).filter((n) => n.endsWith('.incomplete'));
    if (partial.length === 0) return '';
    return ` (the cache holds ${partial.length} unfinished download${partial.length > 1 ? 's' : ''}, e.g. ${resolve(blobs, partial[0]!)}: a download was interrupted; ${REDOWNLOAD})`;
  } catch {
    return '';
  }
}
