/**
 * PyTorch's CPU generator (CPUGeneratorImpl, MT19937) and the sampling routines that consume it,
 * reproduced bit for bit for torch 1.13–2.x on x86-64 with AVX2:
 * - `randn`: aten/src/ATen/native/cpu/DistributionTemplates.h normal_kernel. A contiguous float tensor of
 *   >= 16 elements is first filled with 24-bit uniforms, then Box–Muller-transformed in blocks of 16
 *   (pairs j, j+8) with avx_mathfun's log/sincos (normal_fill_16_AVX2); a size that is not a multiple of
 *   16 redraws 16 fresh uniforms for the last, overlapping block. Smaller tensors go element by element
 *   through at::normal_distribution<double> (ATen/core/DistributionsHelper.h), whose second Box–Muller
 *   value is cached in the generator for the next scalar draw.
 * - `randperm`: aten/src/ATen/native/TensorFactories.cpp randperm_cpu (Fisher–Yates with
 *   `random() % (n - i)`), the path torch takes for n < 2^32 / 20.
 * - `randint`: random_from_to (ATen/core/TransformationHelper.h uniform_int_from_to).
 * - `rand`: uniform_real_distribution<float>: `(random() & (2^24 - 1)) * 2^-24`.
 */
import { Mt19937 } from './mt19937.js';
import { cephesLogF32, cephesSinCosF32 } from './avx-mathfun-f32.js';
import { numel, tensor, type Tensor } from './tensor.js';
import type { RandomSource } from './random.js';
import type { Seed } from './seed.js';

const f = Math.fround;
const TWO_PI_F32 = f(2 * Math.PI);
const RANDPERM_SMALL_LIMIT = Math.floor(0xffffffff / 20);

/** A serialisable snapshot of a TorchGenerator. */
export interface TorchGeneratorState {
  readonly engine: { readonly words: readonly number[]; readonly index: number };
  readonly cachedNormal: number | null;
  /** The seed; a decimal string when above 2^53 − 1 (JSON has no 64-bit integers). */
  readonly seed: number | string;
}

export class TorchGenerator implements RandomSource {
  private readonly engine = new Mt19937();
  private cachedNormal: number | null = null;
  private currentSeed: Seed = 0;

  constructor(seed: number | bigint = 67280421310721) {
    this.manualSeed(seed);
  }

  /**
   * Like `Generator.manual_seed(seed)`: re-seeds and drops the cached scalar normal. Any seed up to 2^64 − 1
   * gives torch's stream (the engine keeps the low 32 bits, as torch's mt19937 does).
   */
  manualSeed(seed: Seed): this {
    this.engine.seed(seed);
    this.cachedNormal = null;
    this.currentSeed = seed;
    return this;
  }

  /** Everything needed to continue this stream later (checkpoints for --resume). */
  getState(): TorchGeneratorState {
    const seed = typeof this.currentSeed === 'bigint' ? this.currentSeed.toString() : this.currentSeed;
    return { engine: this.engine.getState(), cachedNormal: this.cachedNormal, seed };
  }

  /** Continues from a getState() snapshot. */
  setState(state: TorchGeneratorState): void {
    this.engine.setState(state.engine);
    this.cachedNormal = state.cachedNormal;
    this.currentSeed = typeof state.seed === 'string' ? BigInt(state.seed) : state.seed;
  }

  /** The seed last given to manualSeed (torch's `initial_seed()`). */
  initialSeed(): Seed {
    return this.currentSeed;
  }

  /** One raw 32-bit draw (CPUGeneratorImpl::random). */
  random(): number {
    return this.engine.nextUint32();
  }

  /** One raw 64-bit draw, first 32-bit draw as the high word (CPUGeneratorImpl::random64). */
  random64(): bigint {
    const hi = this.engine.nextUint32();
    const lo = this.engine.nextUint32();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** uniform_real_distribution<float>(0, 1): 24 random bits, exact in float32, in [0, 1). */
  uniformFloat(): number {
    return (this.engine.nextUint32() & 0xffffff) * 2 ** -24;
  }

  /** uniform_real_distribution<double>(0, 1): the low 53 bits of random64, in [0, 1). */
  uniformDouble(): number {
    const hi = this.engine.nextUint32();
    const lo = this.engine.nextUint32();
    return ((hi & 0x1fffff) * 2 ** 32 + lo) * 2 ** -53;
  }

  /** torch.rand(shape, generator=g) for float32; with from/to like `uniform_(from, to)`. */
  rand(shape: readonly number[], from = 0, to = 1): Tensor {
    const out = tensor(shape);
    const a = f(from);
    const span = f(f(to) - a);
    for (let i = 0; i < out.data.length; i++) out.data[i] = f(f(this.uniformFloat() * span) + a);
    return out;
  }

  /** torch.randn(shape, generator=g) as float32. */
  randn(shape: readonly number[]): Tensor {
    const n = numel(shape);
    const out = tensor(shape);
    const d = out.data;
    if (n >= 16) {
      for (let i = 0; i < n; i++) d[i] = this.uniformFloat();
      for (let i = 0; i + 16 <= n; i += 16) normalFill16(d, i);
      if (n % 16 !== 0) {
        const start = n - 16;
        for (let i = 0; i < 16; i++) d[start + i] = this.uniformFloat();
        normalFill16(d, start);
      }
    } else {
      for (let i = 0; i < n; i++) d[i] = this.scalarNormal();
    }
    return out;
  }

  /** torch.randperm(n, generator=g). */
  randperm(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`randperm: n must be a non-negative integer, got ${n}`);
    if (n >= RANDPERM_SMALL_LIMIT) throw new RangeError(`randperm: n=${n} is beyond the small-n algorithm this port implements`);
    const r = new Int32Array(n);
    for (let i = 0; i < n; i++) r[i] = i;
    for (let i = 0; i < n - 1; i++) {
      const z = this.engine.nextUint32() % (n - i);
      const sav = r[i]!;
      r[i] = r[z + i]!;
      r[z + i] = sav;
    }
    return r;
  }

  /** One torch.randint(low, highInclusive + 1, (), generator=g) draw. */
  randint(low: number, highInclusive: number): number {
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(highInclusive) || highInclusive < low) {
      throw new RangeError(`randint: bad range [${low}, ${highInclusive}]`);
    }
    const range = highInclusive - low + 1;
    if (range >= 2 ** 32) return Number(this.random64() % BigInt(range)) + low;
    return (this.engine.nextUint32() % range) + low;
  }

  /** at::normal_distribution<double>(0, 1) with the generator's cached second value. */
  private scalarNormal(): number {
    if (this.cachedNormal !== null) {
      const v = this.cachedNormal;
      this.cachedNormal = null;
      return v;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

const sc = new Float64Array(2);

/** normal_fill_16_AVX2 with mean 0 and std 1 (its final fmadd(n, 1, 0) is exact). */
function normalFill16(d: Float32Array, at: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - d[at + j]!);
    const u2 = d[at + j + 8]!;
    const radius = f(Math.sqrt(f(-2 * cephesLogF32(u1))));
    cephesSinCosF32(f(TWO_PI_F32 * u2), sc);
    d[at + j] = f(radius * sc[1]!);
    d[at + j + 8] = f(radius * sc[0]!);
  }
}
