/**
 * The one check of a single option value against its table row (option-table.ts), used by resolveOptions
 * and by the command line alike. Messages are one OptionsError line naming the option as its caller
 * spells it: the library key ("c must be a number in [0, 1] (a share of the window), got 2") or the flag
 * with the typed string ("--c must be a number in [0, 1] (a share of the window), got \"2\"").
 */
import { OptionsError } from '../errors.js';
import { toSeed, type Seed } from '../tensor/seed.js';
import { MESSAGE_UNITS, type OptionSpec } from './option-spec.js';

/** How a message names the option and shows the value. */
export interface Naming {
  /** The library key (`viewBatchSize`) or the command-line flag (`--view-batch-size`). */
  readonly name: string;
  /** The value as the caller gave it, e.g. `"abc"` for a typed string; default String(value). */
  readonly shown?: string;
  /** Who asked: the seed's message speaks of decimal strings on the command line, of bigints in the library. */
  readonly audience: 'library' | 'cli';
  /** Appended to an unknown-choice message (`"--scheduler help" lists them`). */
  readonly hint?: string;
}

function fail(message: string): never {
  throw new OptionsError(message);
}

const shownOf = (naming: Naming, value: unknown): string => naming.shown ?? String(value);

/** The upper bound of a numeric row; undefined when it is the model's and the model is not known yet (CLI). */
function upperBound(spec: OptionSpec, nativeLatent: number | undefined): number | undefined {
  const max = spec.range?.max;
  return max === 'nativeLatent' ? nativeLatent : max;
}

/** "a positive integer", "an integer in 1..64 (latent cells)", "a number in [0, 1] (a share of the window)", … */
export function expectedText(spec: OptionSpec, nativeLatent?: number): string {
  const min = spec.range?.min;
  const open = spec.range?.minExclusive === true;
  const max = upperBound(spec, nativeLatent);
  let what: string;
  if (spec.kind === 'integer') {
    if (min !== undefined && max !== undefined) what = `an integer in ${open ? min + 1 : min}..${max}`;
    else if (min === 1 || (min === 0 && open)) what = 'a positive integer';
    else if (min === 0) what = 'a non-negative integer';
    else what = min === undefined ? 'an integer' : `an integer ≥ ${open ? min + 1 : min}`;
  } else if (min !== undefined && max !== undefined) {
    what = `a number in ${open ? '(' : '['}${min}, ${max}]`;
  } else if (min === 0) {
    what = open ? 'a positive number' : 'a non-negative number';
  } else if (min !== undefined) {
    what = `a number ${open ? '>' : '≥'} ${min}`;
  } else {
    what = max === undefined ? 'a number' : `a number ≤ ${max}`;
  }
  const unit = spec.unit === undefined ? undefined : MESSAGE_UNITS[spec.unit];
  return unit === undefined ? what : `${what} (${unit})`;
}

/**
 * An integer or number row: finite, whole where it must be, within the range. `nativeLatent` undefined skips
 * a model-dependent upper bound (the CLI checks before the model is loaded; resolveOptions checks it).
 */
export function checkNumber(spec: OptionSpec, value: unknown, naming: Naming, nativeLatent?: number): number {
  const r = spec.range ?? {};
  const max = upperBound(spec, nativeLatent);
  const ok = typeof value === 'number' && Number.isFinite(value)
    && (spec.kind !== 'integer' || Number.isInteger(value))
    && (r.min === undefined || (r.minExclusive ? value > r.min : value >= r.min))
    && (max === undefined || value <= max);
  if (!ok) fail(`${naming.name} must be ${expectedText(spec, nativeLatent)}, got ${shownOf(naming, value)}`);
  return value as number;
}

/** A row with `range.multipleOf` (width, height): checked apart, as `upscale` takes any size and rounds it. */
export function checkMultiple(spec: OptionSpec, value: number, naming: Naming): void {
  const m = spec.range?.multipleOf;
  if (m !== undefined && value % m !== 0) fail(`${naming.name} ${value} is not a multiple of ${m}`);
}

/** A choice row: the typed value, mapped through `normalize` (aliases) when the row has one. */
export function checkChoice(spec: OptionSpec, value: unknown, naming: Naming): string {
  const choices = spec.choices ?? [];
  const typed = String(value);
  const found = spec.normalize ? spec.normalize(typed) : choices.includes(typed) ? typed : undefined;
  if (found === undefined) {
    const hint = naming.hint === undefined ? '' : `; ${naming.hint}`;
    fail(`unknown ${naming.name.replace(/^--/, '')} "${typed}" (choose ${choices.join(', ')}${hint})`);
  }
  return found;
}

/** A seed row: 0..2^64 − 1 as torch's manual_seed takes it (a number, bigint or decimal string). */
export function checkSeed(value: unknown, naming: Naming): Seed {
  const seed = toSeed(value);
  if (seed !== undefined) return seed;
  if (naming.audience === 'cli') fail(`${naming.name} must be a non-negative integer up to 2^64 - 1 (18446744073709551615), got ${shownOf(naming, value)}`);
  const shown = naming.shown ?? (typeof value === 'string' ? JSON.stringify(value) : String(value));
  const unsafe = typeof value === 'number' && Number.isInteger(value) && value > Number.MAX_SAFE_INTEGER ? ' (above 2^53 − 1 pass it as a bigint or string)' : '';
  return fail(`${naming.name} must be an integer from 0 to 2^64 − 1${unsafe}, got ${shown}`);
}

/** A boolean row. */
export function checkBoolean(value: unknown, naming: Naming): boolean {
  if (typeof value !== 'boolean') fail(`${naming.name} must be true or false, got ${shownOf(naming, value)}`);
  return value;
}

/** A text row (null allowed where the row is nullable). */
export function checkText(spec: OptionSpec, value: unknown, naming: Naming): string | null {
  if (value === null && spec.nullable) return null;
  if (typeof value !== 'string') fail(`${naming.name} must be a string${spec.nullable ? ' or null' : ''}`);
  return value;
}
