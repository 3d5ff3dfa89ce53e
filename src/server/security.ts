/**
 * The local server's guards (issue 15, security): every web page the user visits can send requests to
 * 127.0.0.1, so
 * - a request's Host must name this server: `localhost`, an IP literal, or the --host name, with its port
 *   (a DNS-rebinding page arrives with its own host name and is refused);
 * - a state-changing request (POST) must come from this server's own page: same Origin as the Host, and the
 *   per-server token that only the page holds (a custom header, which also makes cross-origin fetches need a
 *   CORS preflight that this server never grants);
 * - files are served by name from two fixed folders only, names checked against a strict pattern.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** The header carrying the per-server token. */
export const TOKEN_HEADER = 'x-accdiffusion-token';

/** A fresh random token (hex, 256 bits). */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/** Splits a Host header into name and port; undefined when malformed. */
export function parseHost(host: string): { name: string; port: number | undefined } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return undefined;
  return { name: m[1]!.toLowerCase(), port: m[2] === undefined ? undefined : Number(m[2]) };
}

/**
 * True when the Host header names this server: localhost or an IP literal (which no rebinding can produce),
 * or one of `names` (the --host name), with the server's port.
 */
export function hostAllowed(host: string | undefined, port: number, names: readonly string[]): boolean {
  if (!host) return false;
  const h = parseHost(host);
  if (!h) return false;
  if ((h.port ?? 80) !== port) return false;
  const bare = h.name.startsWith('[') ? h.name.slice(1, -1) : h.name;
  return bare === 'localhost' || isIP(bare) !== 0 || names.some((n) => n.toLowerCase() === h.name);
}

/** True when the Origin header is this server's own (scheme http, same host and port as the Host header). */
export function originAllowed(origin: string | undefined, host: string): boolean {
  return origin !== undefined && origin.toLowerCase() === `http://${host.toLowerCase()}`;
}

/** Constant-time comparison of the request's token with the server's. */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (typeof given !== 'string' || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

/** File names the server will look up in the outputs folder: one path segment, no dot files, .png or .json. */
export function isSafeOutputName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.(png|json)$/.test(name) && !name.includes('..');
}

/** Names of the page's assets (one segment, no dot files). */
export function isSafeAssetName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,100}\.(html|js|css|svg|png)$/.test(name);
}
