/**
 * MT19937 (32-bit Mersenne Twister) as PyTorch's CPU generator uses it (ATen/core/MT19937RNGEngine.h):
 * the reference Matsumoto–Nishimura recurrence with Knuth's linear seeding of a 32-bit seed. torch
 * truncates a 64-bit `manual_seed` to its low 32 bits before seeding, which `seed()` mirrors.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

export class Mt19937 {
  private readonly state = new Uint32Array(N);
  private index = N;

  constructor(seed: number | bigint = 5489) {
    this.seed(seed);
  }

  /** Re-seed with the low 32 bits of `seed` (negative seeds wrap like torch's uint64 cast). */
  seed(seed: number | bigint): void {
    const s = typeof seed === 'bigint' ? Number(BigInt.asUintN(32, seed)) : seed >>> 0;
    if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw new RangeError(`Mt19937: seed ${seed} is not a safe integer`);
    const st = this.state;
    st[0] = s;
    for (let j = 1; j < N; j++) {
      const p = st[j - 1]! ^ (st[j - 1]! >>> 30);
      st[j] = (Math.imul(1812433253, p) + j) >>> 0;
    }
    this.index = N;
  }

  /** Next 32-bit output, as an unsigned integer. */
  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.state[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const st = this.state;
    for (let k = 0; k < N; k++) {
      const y = (st[k]! & UPPER) | (st[(k + 1) % N]! & LOWER);
      st[k] = (st[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)) >>> 0;
    }
    this.index = 0;
  }

  /** The full engine state (624 words + position), for checkpoints. */
  getState(): { words: number[]; index: number } {
    return { words: Array.from(this.state), index: this.index };
  }

  /** Restores a state from getState(). */
  setState(st: { words: readonly number[]; index: number }): void {
    if (st.words.length !== N || !Number.isInteger(st.index) || st.index < 0 || st.index > N) throw new RangeError('Mt19937.setState: malformed state');
    this.state.set(st.words);
    this.index = st.index;
  }
}
