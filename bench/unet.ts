/**
 * UNet CPU benchmark (`npm run bench:unet`): an SD1.5-size UNet2DConditionModel built from SD1.5's
 * unet/config.json with random weights (streamed to a temporary ~3.4 GB safetensors file, deleted at the
 * end, also on error or Ctrl-C), forward at a 64×64 latent, batch 2 (one CFG pair), 2 intra-op threads:
 * one warm-up and two timed runs per onnxruntime session variant. Then, in a child process (so its peak RSS
 * is its own), the same UNet with fp16 weights is loaded to see how much memory the in-graph Cast
 * (constant-folded to float32 by onnxruntime) and weight prepacking keep.
 *
 * FLOPs per forward: 1607 GFLOP, the PyTorch reference measurement for this config and input quoted in the
 * project brief (PyTorch: 19.0 s per forward = 84.5 GFLOP/s on this machine class); unet-flops.ts counts 1606.5
 * from the parameter shapes. "% of peak" uses the CPU's own vector width and FMA pipes (cpu-peak.ts).
 *
 * `--size sd15|sdxl|tiny-sd|tiny-sdxl [--device webgpu] ...` runs another size or device instead
 * (unet-sizes.ts), e.g. SDXL's UNet at a 128×128 latent, batch 2, fp32 and fp16 weights.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { parseUNet2DConditionConfig } from '../src/models/unet-config.js';
import { UNet2DConditionModel, bindUNetWeights, buildUNetGraph } from '../src/models/unet-2d-condition.js';
import { openComponentWeights } from '../src/weights/component-weights.js';
import { ortSessionOptions } from '../src/engine/session.js';
import { cpuPeak } from './cpu-peak.js';
import { writeRandomWeights } from './random-weights.js';
import { SD15_UNET_CONFIG } from './unet-configs.js';
import { runSizedBench } from './unet-sizes.js';

const GFLOP_PER_FORWARD = 1607;
const THREADS = 2;

function rssGiB(): string {
  return (process.memoryUsage().rss / 2 ** 30).toFixed(2);
}

function peakGiB(): string {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? (Number(m[1]) / 2 ** 20).toFixed(2) : '?';
}

/** fp32 peak of THREADS cores from /proc/cpuinfo (bench/cpu-peak.ts); peak undefined when unknown. */
function cpuPeakGflops(): { peak: number | undefined; description: string } {
  const p = cpuPeak(readFileSync('/proc/cpuinfo', 'utf8'), THREADS);
  return { peak: p.peakGflops, description: p.description };
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
  if (args.includes('--size')) {
    // Another model size and/or device (bench/unet-sizes.ts), e.g. `--size sdxl --device webgpu`.
    await runSizedBench(args);
    return;
  }
  if (args[0] === '--memory-child') {
    await memoryCheck(args[1]!, args[2] === 'prepack', Number(args[3]));
    return;
  }
  const { description } = cpuPeakGflops();
  console.log(`SD1.5 UNet, latent 64x64, batch 2, ${THREADS} threads; onnxruntime-node ${ort.env.versions.common}; CPU: ${description}`);
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
