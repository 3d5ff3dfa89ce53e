/**
 * Random weights for benchmarks: every parameter of a model (UNet, VAE, CLIP text encoder) streamed into one
 * safetensors file, fan-in scaled like the oracle models (fixtures' ORACLE-README §3.1) so activations stay
 * finite through deep stacks: weights uniform in ±sqrt(3/fan_in), biases ±0.1, norm scales 1 ± 0.1.
 * Streaming keeps memory at one tensor, so an SDXL-size UNet (2.6 G parameters, 10 GB in float32) is fine.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** What the writer needs of a model: its state-dict names and shapes (every graph/Module has this). */
export interface ParameterShapes {
  namedParameters(): Iterable<readonly [string, { readonly shape: readonly number[] }]>;
}

export type WeightDtype = 'F32' | 'F16';

const scratchF = new Float32Array(1);
const scratchU = new Uint32Array(scratchF.buffer);

/** float32 → half bits by truncation; the weights here are small and normal, so this is enough for timing. */
export function toHalf(x: number): number {
  scratchF[0] = x;
  const u = scratchU[0]!;
  const e = ((u >>> 23) & 0xff) - 112;
  if (e <= 0) return (u >>> 16) & 0x8000;
  return ((u >>> 16) & 0x8000) | (e << 10) | ((u >>> 13) & 0x3ff);
}

/**
 * Writes random weights for every parameter of `model` to `file` (safetensors, `dtype`).
 * Returns the bytes of tensor data written.
 */
export async function writeRandomWeights(model: ParameterShapes, file: string, dtype: WeightDtype): Promise<number> {
  const bytesPer = dtype === 'F32' ? 4 : 2;
  const params = [...model.namedParameters()];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [key, p] of params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    header[key] = { dtype, shape: p.shape, data_offsets: [offset, offset + n * bytesPer] };
    offset += n * bytesPer;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = openSync(file, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, Buffer.from(json, 'utf8'));
    let s = 0x9e3779b9;
    for (const [key, p] of params) {
      const n = p.shape.reduce((a, b) => a * b, 1);
      const isNormWeight = p.shape.length === 1 && /norm[^.]*\.weight$/.test(key);
      const isBias = key.endsWith('bias') || (p.shape.length === 1 && !isNormWeight);
      const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
      const amp = isBias || isNormWeight ? 0.1 : Math.sqrt(3 / fanIn);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
        data[i] = (isNormWeight ? 1 : 0) + amp * (((s >>> 0) / 4294967296) * 2 - 1);
      }
      let out: Float32Array | Uint16Array = data;
      if (dtype === 'F16') {
        out = new Uint16Array(n);
        for (let i = 0; i < n; i++) out[i] = toHalf(data[i]!);
      }
      writeSync(fd, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      // Yield between tensors so Ctrl-C / SIGTERM reach the cleanup handler.
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    closeSync(fd);
  }
  return offset;
}
