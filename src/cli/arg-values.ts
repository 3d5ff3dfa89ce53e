/**
 * Checks of the CLI's own command-line values (the library's options go through src/options/ instead, see
 * library-values.ts), each failing with one OptionsError line that names the flag: numbers (parsed here
 * rather than by commander so that the message is ours), choices, and input/output paths (resolved against
 * the working folder and checked before any model is loaded).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { OptionsError } from '../errors.js';

/** Ends parsing with one OptionsError line. */
export function fail(message: string): never {
  throw new OptionsError(message);
}

/** A number flag's value, or undefined when the flag is absent. */
export function parseNumber(flag: string, raw: string | undefined, what: 'integer' | 'number', ok: (x: number) => boolean, expected: string): number | undefined {
  if (raw === undefined) return undefined;
  const s = raw.trim();
  const x = s === '' ? NaN : Number(s);
  if (!Number.isFinite(x) || (what === 'integer' && !Number.isInteger(x)) || !ok(x)) fail(`${flag} must be ${expected}, got "${raw}"`);
  return x;
}
export const positiveInt = (flag: string, raw: string | undefined) => parseNumber(flag, raw, 'integer', (x) => x > 0, 'a positive integer');

export function oneOf<T extends string>(flag: string, raw: string | undefined, choices: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) fail(`unknown ${flag.replace(/^--/, '')} "${raw}" (choose ${choices.join(', ')})`);
  return raw as T;
}

/** An output file: its folder must exist, and the file must not unless --force. */
export function outputFile(flag: string, raw: string, cwd: string, force: boolean): string {
  const file = resolve(cwd, raw);
  const dir = dirname(file);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`${flag}: folder ${dir} does not exist`);
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) fail(`${flag}: ${file} is a folder`);
    if (!force) fail(`${flag}: ${file} already exists (use --force to overwrite)`);
  }
  return file;
}

/** An output folder: created later if missing, but its parent must exist. */
export function outputDir(flag: string, raw: string, cwd: string): string {
  const dir = resolve(cwd, raw);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) fail(`${flag}: ${dir} is not a folder`);
  } else {
    const parent = dirname(dir);
    if (!existsSync(parent) || !statSync(parent).isDirectory()) fail(`${flag}: folder ${parent} does not exist`);
  }
  return dir;
}

/** An input file: it must exist. */
export function inputFile(flag: string, raw: string, cwd: string): string {
  const file = resolve(cwd, raw);
  if (!existsSync(file)) fail(`${flag}: file ${file} does not exist`);
  if (!statSync(file).isFile()) fail(`${flag}: ${file} is a folder, not a file`);
  return file;
}
