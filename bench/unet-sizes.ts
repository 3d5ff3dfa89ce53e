/**
 * bench:unet at a chosen model size and device (`npm run bench:unet -- --size sdxl --device webgpu`): one
 * UNet2DConditionModel from SD1.5's or SDXL's real config (or a fixture's tiny one) with random weights, opened
 * through the library's own session (src/engine/session.ts, so the device's providers are the ones the
 * pipeline gets), one warm-up and `--runs` timed forwards per weight dtype. Prints one line per dtype and,
 * with `--json FILE`, appends one JSON object per dtype to FILE (for scripts/gpu-check.sh).
 *
 * GFLOP per forward is counted from the parameter shapes (unet-flops.ts; for SD1.5 at 64×64, batch 2 it
 * gives 1606.5 against PyTorch's measured 1607).
 *
 * Usage: bench:unet -- --size sd15|sdxl|tiny-sd|tiny-sdxl [--latent N] [--batch N] [--dtypes f32,f16]
 *        [--device cpu|webgpu|cuda] [--threads N] [--runs N] [--attention fused|explicit] [--json FILE]
 * The attention form defaults to the one the library builds for the device.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseUNet2DConditionConfig } from '../src/models/unet-config.js';
import { UNet2DConditionModel, bindUNetWeights, buildUNetGraph } from '../src/models/unet-2d-condition.js';
import { openComponentWeights } from '../src/weights/component-weights.js';
import { ModelSession, type Feed } from '../src/engine/session.js';
import { DEVICES, fusedAttentionAccurate, type Device } from '../src/engine/providers.js';
import { cpuPeak } from './cpu-peak.js';
import { unetGflop } from './unet-flops.js';
import { writeRandomWeights, type WeightDtype } from './random-weights.js';
import { UNET_SIZES, unetConfigJson, type UNetSize } from './unet-configs.js';

interface SizedResult {
  readonly size: UNetSize;
  readonly device: Device;
  readonly dtype: WeightDtype;
  readonly attention: 'fused' | 'explicit';
  readonly latent: number;
  readonly batch: number;
  readonly parameters: number;
  readonly gflopPerForward: number;
  readonly writeSeconds: number;
  readonly loadSeconds: number;
  readonly warmupSeconds: number;
  readonly timedSeconds: readonly number[];
  readonly secondsPerForward: number;
  readonly gflops: number;
}

/** Deterministic inputs for one forward: [B,4,h,w] sample, [B] timestep, [B,77,ctx] text, SDXL's added conditions. */
function unetFeeds(model: UNet2DConditionModel, latent: number, batch: number): Record<string, Feed> {
  const c = model.config;
  const ctx = c.cross_attention_dim[0]!;
  const wave = (n: number, f: number): Float32Array => new Float32Array(n).map((_, i) => Math.sin(i * f));
  const feeds: Record<string, Feed> = {
    sample: { data: wave(batch * c.in_channels * latent * latent, 0.37), shape: [batch, c.in_channels, latent, latent] },
    timestep: { data: new Float32Array(batch).fill(500), shape: [batch] },
    encoder_hidden_states: { data: wave(batch * 77 * ctx, 0.11), shape: [batch, 77, ctx] },
  };
  if (c.addition_embed_type === 'text_time') {
    const textDim = c.projection_class_embeddings_input_dim! - 6 * c.addition_time_embed_dim!;
    feeds.text_embeds = { data: wave(batch * textDim, 0.05), shape: [batch, textDim] };
    const px = latent * 8;
    feeds.time_ids = { data: Float32Array.from({ length: batch * 6 }, (_, i) => [px, px, 0, 0, px, px][i % 6]!), shape: [batch, 6] };
  }
  return feeds;
}

interface TimeOptions { latent: number; batch: number; device: Device; threads?: number; runs: number; attention: 'fused' | 'explicit' }

async function timeDtype(size: UNetSize, dtype: WeightDtype, o: TimeOptions): Promise<SizedResult> {
  const root = mkdtempSync(join(tmpdir(), `acc-bench-unet-${size}-`));
  try {
    const model = new UNet2DConditionModel(parseUNet2DConditionConfig(unetConfigJson(size), `${size} unet/config.json`));
    const dir = join(root, 'unet');
    mkdirSync(dir);
    let t = performance.now();
    await writeRandomWeights(model, join(dir, 'diffusion_pytorch_model.safetensors'), dtype);
    const writeSeconds = (performance.now() - t) / 1000;
    const weights = openComponentWeights(dir);
    bindUNetWeights(model, weights);
    t = performance.now();
    const session = await ModelSession.create(buildUNetGraph(model, { attention: o.attention }).toModelProto(), { weightsDir: weights.weightsDir, device: o.device, threads: o.threads });
    const loadSeconds = (performance.now() - t) / 1000;
    const feeds = unetFeeds(model, o.latent, o.batch);
    const times: number[] = [];
    for (let i = 0; i <= o.runs; i++) {
      t = performance.now();
      const out = await session.run(feeds);
      times.push((performance.now() - t) / 1000);
      if (i === 0 && !out.out_sample!.data.every(Number.isFinite)) throw new Error(`${size} ${dtype} on ${o.device}: non-finite output`);
    }
    await session.release();
    const timed = times.slice(1);
    const secondsPerForward = timed.reduce((a, b) => a + b, 0) / timed.length;
    const gflopPerForward = unetGflop(model, { height: o.latent, width: o.latent, batch: o.batch, contextLength: 77, levels: model.config.block_out_channels.length });
    return {
      size, device: o.device, dtype, attention: o.attention, latent: o.latent, batch: o.batch, parameters: model.parameterCount(), gflopPerForward,
      writeSeconds, loadSeconds, warmupSeconds: times[0]!, timedSeconds: timed, secondsPerForward, gflops: gflopPerForward / secondsPerForward,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Runs the sized benchmark for `argv` (the arguments after the script name). */
export async function runSizedBench(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      size: { type: 'string' },
      latent: { type: 'string' },
      batch: { type: 'string', default: '2' },
      dtypes: { type: 'string', default: 'f32,f16' },
      device: { type: 'string', default: 'cpu' },
      threads: { type: 'string' },
      runs: { type: 'string', default: '2' },
      json: { type: 'string' },
      attention: { type: 'string' },
    },
  });
  const size = values.size as UNetSize;
  if (!UNET_SIZES.includes(size)) throw new Error(`--size must be one of ${UNET_SIZES.join(', ')}`);
  const device = values.device as Device;
  if (!DEVICES.includes(device)) throw new Error(`--device must be one of ${DEVICES.join(', ')}`);
  const configSize = Number(unetConfigJson(size).sample_size ?? 64);
  const latent = Number(values.latent ?? configSize);
  const batch = Number(values.batch);
  const runs = Number(values.runs);
  const threads = values.threads !== undefined ? Number(values.threads) : undefined;
  // Default: the attention form the library builds for this device (src/engine/providers.ts).
  const attention = (values.attention ?? (fusedAttentionAccurate(device) ? 'fused' : 'explicit')) as 'fused' | 'explicit';
  if (attention !== 'fused' && attention !== 'explicit') throw new Error('--attention must be fused or explicit');
  const dtypes = values.dtypes.split(',').map((d) => (d.toLowerCase() === 'f16' ? 'F16' : 'F32') as WeightDtype);
  if (![latent, batch, runs].every((n) => Number.isInteger(n) && n > 0)) throw new Error('--latent, --batch and --runs must be positive integers');
  const peak = device === 'cpu' ? cpuPeak(readFileSync('/proc/cpuinfo', 'utf8'), threads ?? 2) : undefined;
  console.log(`UNet ${size}, latent ${latent}x${latent}, batch ${batch}, device ${device}, ${attention} attention${threads ? `, ${threads} threads` : ''}` + (peak ? `; CPU: ${peak.description}` : ''));
  for (const dtype of dtypes) {
    const r = await timeDtype(size, dtype, { latent, batch, device, threads, runs, attention });
    const pct = peak?.peakGflops ? ` = ${((100 * r.gflops) / peak.peakGflops).toFixed(0)}% of the nominal peak` : '';
    console.log(
      `${size} ${dtype} weights on ${device}: ${(r.parameters / 1e6).toFixed(0)} M parameters, wrote in ${r.writeSeconds.toFixed(1)} s, load ${r.loadSeconds.toFixed(1)} s, ` +
        `warm-up ${r.warmupSeconds.toFixed(2)} s, timed ${r.timedSeconds.map((x) => x.toFixed(3)).join(', ')} s | ${r.secondsPerForward.toFixed(3)} s/forward, ` +
        `${r.gflopPerForward.toPrecision(4)} GFLOP/forward → ${r.gflops.toPrecision(4)} GFLOP/s${pct}`,
    );
    if (values.json) appendFileSync(values.json, JSON.stringify(r) + '\n');
  }
}
