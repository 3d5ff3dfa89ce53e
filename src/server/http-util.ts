/**
 * Small helpers of the page's HTTP server on node:http (chosen over a framework: a dozen routes, one event
 * stream and strict checks need no more, and every byte the server accepts stays visible here).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest accepted request body (settings, window prompts, a parameters text). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Largest job body: the settings with an image to upscale as base64 (4/3 of the file), so files up to 24 MiB. */
export const MAX_JOB_BODY_BYTES = 32 * 1024 * 1024;

const tooLarge = (limit: number) =>
  new HttpError(413, limit === MAX_JOB_BODY_BYTES ? `request body over ${limit / 2 ** 20} MiB (an image to upscale may have at most ${(limit * 3) / 4 / 2 ** 20} MiB)` : `request body over ${limit} bytes`);

/** An HTTP error with a message for the page. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Headers every response carries: no sniffing, no framing, no referrer, a strict content security policy. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
};

export function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', ...extra });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

/** Reads a JSON body of at most `limit` bytes; throws HttpError 413/415/400. */
export async function readJson(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'expected a JSON body (Content-Type: application/json)');
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
}

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml', png: 'image/png', json: 'application/json; charset=utf-8',
};
