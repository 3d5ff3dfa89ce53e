/**
 * Seeds as torch takes them: `torch.Generator().manual_seed(s)` accepts any integer 0 <= s < 2^64
 * (python_generator.cpp unpacks a uint64; mt19937's init_with_uint32 then keeps the low 32 bits for the
 * state). A seed is a JS number while it is a safe integer and a bigint above 2^53 − 1, so that every
 * seed a user types survives exactly, and the values that were numbers stay numbers.
 */

/** A seed: a safe non-negative integer, or a bigint up to 2^64 − 1. */
export type Seed = number | bigint;

/** The largest seed, 2^64 − 1 (torch's uint64 limit). */
export const MAX_SEED = (1n << 64n) - 1n;

/**
 * A seed from a number, bigint or decimal string (digits only), as a number when it is a safe integer and a
 * bigint above; undefined when the value is not an integer in 0..2^64 − 1 (and for unsafe numbers, which
 * have already lost digits: pass those as a string or bigint).
 */
export function toSeed(value: unknown): Seed | undefined {
  let b: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) return undefined;
    return value;
  } else if (typeof value === 'bigint') {
    b = value;
  } else if (typeof value === 'string' && /^\d+$/.test(value.trim())) {
    b = BigInt(value.trim());
  } else {
    return undefined;
  }
  if (b < 0n || b > MAX_SEED) return undefined;
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** The seed of a secondary stream: seed + 1, wrapping at 2^64 as a uint64 does (never overflows). */
export function nextSeed(seed: Seed): Seed {
  const next = (BigInt(seed) + 1n) & MAX_SEED;
  return next <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(next) : next;
}

/** A JSON.stringify replacer that writes bigints (seeds above 2^53 − 1) as decimal strings. */
export function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
