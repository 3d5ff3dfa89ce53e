/** Shared pieces of the UNet tests: sessions over built graphs, random weights, fp16 conversion. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelSession } from '../../src/engine/session.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { UNet2DConditionModel, buildUNetGraph, type UNetGraphOptions } from '../../src/models/unet-2d-condition.js';
import { writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors.js';

/** Builds the graph and opens a 1-thread session reading weights from `weightsDir`. */
export async function unetSession(model: UNet2DConditionModel, weightsDir: string, options: UNetGraphOptions = {}): Promise<ModelSession> {
  return ModelSession.create(buildUNetGraph(model, options).toModelProto(), { weightsDir, threads: 1 });
}

/** A small deterministic PRNG (mulberry32) for test inputs and weights. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Approximately N(0, 1) samples (sum of uniforms). */
export function randn(n: number, next: () => number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() + next() + next() + next() - 2) * Math.sqrt(3) * scale;
  return out;
}

export function randomTensor(shape: readonly number[], next: () => number, scale = 1): Tensor {
  return { data: randn(shape.reduce((a, b) => a * b, 1), next, scale), shape: [...shape] };
}

/**
 * Random weights for every parameter of `model`, scaled like the oracle models (ORACLE-README §3.1):
 * fan-in scaled weights, small biases, norm weights near 1. Written as one safetensors file.
 */
export function writeRandomWeights(model: UNet2DConditionModel, dir: string, seed: number, edit?: (w: Record<string, TensorToWrite>) => void): void {
  const next = rng(seed);
  const tensors: Record<string, TensorToWrite> = {};
  for (const [key, p] of model.namedParameters()) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    const isNorm = /norm[^.]*\.(weight|bias)$/.test(key) || /\.norm\.(weight|bias)$/.test(key);
    if (isNorm && key.endsWith('weight')) data = randn(n, next, 0.1).map((x) => 1 + x);
    else if (key.endsWith('bias')) data = randn(n, next, 0.1);
    else data = randn(n, next, 1 / Math.sqrt(p.shape.slice(1).reduce((a, b) => a * b, 1)));
    tensors[key] = { shape: p.shape, data };
  }
  edit?.(tensors);
  writeSafetensors(join(dir, 'diffusion_pytorch_model.safetensors'), tensors);
}

export function writeConfig(dir: string, config: object): void {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
}

/** float32 → IEEE half bits, round to nearest even. */
export function toHalfBits(x: number): number {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  f[0] = x;
  const bits = u[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

/** Row b of a [B, ...] tensor as its own batch of 1. */
export function row(t: Tensor, b: number): Tensor {
  const per = t.data.length / t.shape[0]!;
  return { data: t.data.slice(b * per, (b + 1) * per), shape: [1, ...t.shape.slice(1)] };
}
