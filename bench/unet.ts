/**
 * UNet CPU benchmark (`npm run bench:unet`): an SD1.5-size UNet2DConditionModel built from SD1.5's
 * unet/config.json with random weights (streamed to a temporary ~3.4 GB safetensors file, deleted at the
 * end, also on error or Ctrl-C), forward at a 64×64 latent, batch 2 (one CFG pair), 2 intra-op threads:
 * one warm-up and two timed runs per onnxruntime session variant. Then, in a child process (so its peak RSS
 * is its own), the same UNet with fp16 weights is loaded to see how much memory the in-graph Cast
 * (constant-folded to float32 by onnxruntime) and weight prepacking keep.
 *
 * FLOPs per forward: 1607 GFLOP, the PyTorch reference measurement for this config and input quoted in the
 * project brief (PyTorch: 19.0 s per forward = 84.5 GFLOP/s on this machine class).
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { parseUNet2DConditionConfig } from '../src/models/unet-config.js';
import { UNet2DConditionModel, bindUNetWeights, buildUNetGraph } from '../src/models/unet-2d-condition.js';
import { openComponentWeights } from '../src/weights/component-weights.js';
import { ortSessionOptions } from '../src/engine/session.js';

/** runwayml/stable-diffusion-v1-5 unet/config.json. */
const SD15_UNET_CONFIG = {
  _class_name: 'UNet2DConditionModel',
  _diffusers_version: '0.6.0',
  act_fn: 'silu',
  attention_head_dim: 8,
  block_out_channels: [320, 640, 1280, 1280],
  center_input_sample: false,
  cross_attention_dim: 768,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  downsample_padding: 1,
  flip_sin_to_cos: true,
  freq_shift: 0,
  in_channels: 4,
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  norm_eps: 1e-5,
  norm_num_groups: 32,
  out_channels: 4,
  sample_size: 64,
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
};
const GFLOP_PER_FORWARD = 1607;
const THREADS = 2;

const scratchF = new Float32Array(1);
const scratchU = new Uint32Array(scratchF.buffer);
function toHalf(x: number): number {
  // Weights here are small and normal; truncating conversion is enough for a memory measurement.
  scratchF[0] = x;
  const u = scratchU[0]!;
  const e = ((u >>> 23) & 0xff) - 112;
  if (e <= 0) return (u >>> 16) & 0x8000;
  return ((u >>> 16) & 0x8000) | (e << 10) | ((u >>> 13) & 0x3ff);
}

/** Streams random weights (fan-in scaled) for every parameter into one safetensors file. */
async function writeRandomWeights(model: UNet2DConditionModel, file: string, dtype: 'F32' | 'F16'): Promise<number> {
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
      const isNormWeight = /norm\d?\.weight$|norm_out\.weight$|\.norm\.weight$/.test(key);
      const isBias = key.endsWith('bias') || /norm\d?\.bias$/.test(key);
      const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
      const amp = isBias ? 0.1 : isNormWeight ? 0.1 : Math.sqrt(3 / fanIn);
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

function rssGiB(): string {
  return (process.memoryUsage().rss / 2 ** 30).toFixed(2);
}

function peakGiB(): string {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? (Number(m[1]) / 2 ** 20).toFixed(2) : '?';
}

function cpuPeakGflops(): { mhz: number; peak: number } {
  // Zen 3 / AVX2: two 256-bit FMA pipes = 32 fp32 FLOP per cycle per core.
  const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  const mhz = m ? Number(m[1]) : 0;
  return { mhz, peak: (THREADS * 32 * mhz) / 1000 };
}

interface Variant {
  readonly name: string;
  readonly attention: 'fused' | 'explicit';
  readonly options: ort.InferenceSession.SessionOptions;
}

function sessionOptions(dir: string, extra: Record<string, string>, o: Partial<ort.InferenceSession.SessionOptions> = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    ...o,
    extra: { session: { model_external_initializers_file_folder_path: dir, ...extra } },
  };
}

function feeds(): Record<string, ort.Tensor> {
  const B = 2;
  const sample = new Float32Array(B * 4 * 64 * 64).map((_, i) => Math.sin(i * 0.37));
  const ehs = new Float32Array(B * 77 * 768).map((_, i) => Math.cos(i * 0.11));
  return {
    sample: new ort.Tensor('float32', sample, [B, 4, 64, 64]),
    timestep: new ort.Tensor('float32', Float32Array.from([500, 500]), [B]),
    encoder_hidden_states: new ort.Tensor('float32', ehs, [B, 77, 768]),
  };
}

async function timeVariant(model: UNet2DConditionModel, dir: string, v: Variant): Promise<void> {
  const bytes = buildUNetGraph(model, { attention: v.attention }).toModelProto();
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(bytes, v.options);
  const load = (performance.now() - t0) / 1000;
  const f = feeds();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const out = await session.run(f);
    times.push((performance.now() - t) / 1000);
    if (i === 0 && !Array.from(out.out_sample!.data as Float32Array).every(Number.isFinite)) throw new Error('non-finite output');
  }
  await session.release();
  const timed = times.slice(1);
  const best = Math.min(...timed);
  const mean = timed.reduce((a, b) => a + b, 0) / timed.length;
  const { peak } = cpuPeakGflops();
  console.log(
    `${v.name.padEnd(34)} load ${load.toFixed(1)} s | warm-up ${times[0]!.toFixed(1)} s | timed ${timed.map((x) => x.toFixed(2)).join(', ')} s` +
      ` | ${mean.toFixed(2)} s/forward (best ${best.toFixed(2)}) | ${(GFLOP_PER_FORWARD / mean).toFixed(1)} GFLOP/s` +
      (peak ? ` = ${((100 * GFLOP_PER_FORWARD) / mean / peak).toFixed(0)}% of peak` : '') +
      ` | RSS ${rssGiB()} GiB, peak ${peakGiB()} GiB`,
  );
}

/**
 * Child mode: load the weights in `dir` (prepacking on or off), report RSS after load and the peak during
 * load in multiples of one float32 copy of the weights; no forward. Then one forward at a small latent
 * (batch 2, 16×16) to see what running adds (half weights are cast per layer at run time).
 */
async function memoryCheck(dir: string, prepack: boolean, fp32Bytes: number): Promise<void> {
  const weights = openComponentWeights(dir);
  const model = new UNet2DConditionModel(parseUNet2DConditionConfig(SD15_UNET_CONFIG, 'bench'));
  bindUNetWeights(model, weights);
  const dtype = [...model.namedParameters()][0]![1].bound!.dtype;
  const bytes = buildUNetGraph(model).toModelProto();
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(bytes, { ...sessionOptions(weights.weightsDir, prepack ? {} : { disable_prepacking: '1' }), logSeverityLevel: 3 });
  const load = (performance.now() - t0) / 1000;
  const after = process.memoryUsage().rss;
  const peakLoad = peakBytes();
  const x = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB = ${(b / fp32Bytes).toFixed(2)}x`;
  const B = 2;
  const t1 = performance.now();
  await session.run({
    sample: new ort.Tensor('float32', new Float32Array(B * 4 * 16 * 16).fill(0.1), [B, 4, 16, 16]),
    timestep: new ort.Tensor('float32', Float32Array.from([500, 500]), [B]),
    encoder_hidden_states: new ort.Tensor('float32', new Float32Array(B * 77 * 768).fill(0.01), [B, 77, 768]),
  });
  const fwd = (performance.now() - t1) / 1000;
  console.log(
    `${dtype} weights, prepacking ${prepack ? 'on ' : 'off'}: load ${load.toFixed(1)} s, RSS after load ${x(after)} (+${(after - before) / 2 ** 30 > 0 ? ((after - before) / 2 ** 30).toFixed(2) : '0'} GiB), ` +
      `peak during load ${x(peakLoad)}; after a 16x16 forward (${fwd.toFixed(1)} s) RSS ${x(process.memoryUsage().rss)}, peak ${x(peakBytes())}; one float32 copy = ${(fp32Bytes / 2 ** 30).toFixed(2)} GiB`,
  );
  if (process.env.UNET_BENCH_TIME_FORWARD) {
    // Cost of running with these weights (half weights: the per-layer Cast): the 64×64 forward, timed twice.
    const f = feeds();
    const times: number[] = [];
    for (let i = 0; i < 2; i++) {
      const t = performance.now();
      await session.run(f);
      times.push((performance.now() - t) / 1000);
    }
    console.log(`${dtype} weights: 64x64 batch-2 forward ${times.map((x) => x.toFixed(2)).join(', ')} s; RSS ${x(process.memoryUsage().rss)}, peak ${x(peakBytes())}`);
  }
  await session.release();
}

function peakBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--memory-only') {
    // Only the load-memory checks (`--memory-only [f16|f32|both]`, default f16), each dtype in turn.
    const which = args[1] ?? 'f16';
    const dtypes: Array<'F16' | 'F32'> = which === 'both' ? ['F32', 'F16'] : which === 'f32' ? ['F32'] : ['F16'];
    const root = mkdtempSync(join(tmpdir(), 'acc-bench-unetmem-'));
    const onSignal = (): void => {
      rmSync(root, { recursive: true, force: true });
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      for (const dtype of dtypes) {
        const model = new UNet2DConditionModel(parseUNet2DConditionConfig(SD15_UNET_CONFIG, 'bench'));
        await writeRandomWeights(model, join(root, 'diffusion_pytorch_model.safetensors'), dtype);
        const fp32Bytes = model.parameterCount() * 4;
        for (const mode of ['prepack', 'noprepack']) {
          const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--memory-child', root, mode, String(fp32Bytes)], { stdio: 'inherit' });
          if (r.status !== 0) throw new Error(`memory check (${mode}) failed with status ${r.status}`);
        }
        rmSync(join(root, 'diffusion_pytorch_model.safetensors'), { force: true });
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    return;
  }
  if (args[0] === '--write-weights') {
    // `--write-weights DIR F16|F32`: only write the random weights (to compare builds on the same file).
    const model = new UNet2DConditionModel(parseUNet2DConditionConfig(SD15_UNET_CONFIG, 'bench'));
    await writeRandomWeights(model, join(args[1]!, 'diffusion_pytorch_model.safetensors'), args[2] === 'F16' ? 'F16' : 'F32');
    console.log(`${model.parameterCount()} parameters`);
    return;
  }
  if (args[0] === '--memory-child') {
    await memoryCheck(args[1]!, args[2] === 'prepack', Number(args[3]));
    return;
  }
  const { mhz, peak } = cpuPeakGflops();
  console.log(`SD1.5 UNet, latent 64x64, batch 2, ${THREADS} threads; onnxruntime-node ${ort.env.versions.common}; CPU ${mhz} MHz, fp32 peak ≈ ${peak.toFixed(0)} GFLOP/s (AVX2 FMA)`);
  console.log(`FLOPs: ${GFLOP_PER_FORWARD} GFLOP per forward (PyTorch reference measurement, project brief; PyTorch: 19.0 s = 84.5 GFLOP/s)`);
  const root = mkdtempSync(join(tmpdir(), 'acc-bench-unet-'));
  const cleanup = (): void => rmSync(root, { recursive: true, force: true });
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const model = new UNet2DConditionModel(parseUNet2DConditionConfig(SD15_UNET_CONFIG, 'bench'));
    const f32dir = join(root, 'fp32');
    const f16dir = join(root, 'fp16');
    mkdirSync(f32dir);
    mkdirSync(f16dir);
    let t = performance.now();
    const fp32Bytes = await writeRandomWeights(model, join(f32dir, 'diffusion_pytorch_model.safetensors'), 'F32');
    console.log(`wrote ${(fp32Bytes / 2 ** 30).toFixed(2)} GiB of random fp32 weights (${model.parameterCount()} parameters) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const weights = openComponentWeights(f32dir);
    bindUNetWeights(model, weights);
    const only = process.env.UNET_BENCH_VARIANTS?.split(',');
    const all: Variant[] = [
      // what the library ships (src/engine/session.ts), so a wrong option there shows up here
      { name: 'library session options', attention: 'fused' as const, options: ortSessionOptions({ weightsDir: weights.weightsDir, threads: THREADS }, ['cpu']) },
      { name: 'fused MHA, opt=all, prepacking on', attention: 'fused' as const, options: sessionOptions(weights.weightsDir, {}) },
      { name: 'fused MHA, opt=all, prepacking off', attention: 'fused' as const, options: sessionOptions(weights.weightsDir, { disable_prepacking: '1' }) },
      { name: 'fused MHA, opt=all, no mem pattern', attention: 'fused' as const, options: sessionOptions(weights.weightsDir, {}, { enableMemPattern: false }) },
      { name: 'fused MHA, opt=extended', attention: 'fused' as const, options: sessionOptions(weights.weightsDir, {}, { graphOptimizationLevel: 'extended' }) },
      { name: 'explicit attention, opt=all', attention: 'explicit' as const, options: sessionOptions(weights.weightsDir, {}) },
    ];
    // UNET_BENCH_VARIANTS=2,0 runs those variants in that order (to see order effects)
    const variants = only ? only.map((i) => all[Number(i)]!).filter(Boolean) : all;
    for (const v of variants) await timeVariant(model, weights.weightsDir, v);
    rmSync(f32dir, { recursive: true, force: true });
    // fp16 memory check, each in its own process so peak RSS is not shared with the timing runs
    t = performance.now();
    const model16 = new UNet2DConditionModel(parseUNet2DConditionConfig(SD15_UNET_CONFIG, 'bench'));
    await writeRandomWeights(model16, join(f16dir, 'diffusion_pytorch_model.safetensors'), 'F16');
    console.log(`wrote fp16 weights in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    for (const mode of ['prepack', 'noprepack']) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--memory-child', f16dir, mode, String(fp32Bytes)], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`memory check (${mode}) failed with status ${r.status}`);
    }
  } finally {
    cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
