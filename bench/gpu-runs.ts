/**
 * One timed generate() through the library on a device (`node dist/bench/gpu-runs.js --device webgpu
 * --model DIR --scale 4`), for scripts/gpu-check.sh: load seconds, prompt-encode seconds, and per stage its
 * size, denoise and decode seconds and UNet calls (batch rows, CFG rows included), with the seconds per UNet
 * row. `--model random-sdxl` first writes an SDXL-size random-weight model (random-model.ts; `random-tiny`
 * the same code path at tiny-sdxl's sizes). Prints a line per stage and, with `--json FILE`, appends one JSON
 * object for the run. A progress line per finished step goes to stderr, so a run cut by a timeout still
 * shows how far it came and how long each step took.
 *
 * Usage: gpu-runs.js --model DIR|random-sdxl|random-tiny (--scale N | --width W --height H) [--steps N]
 *        [--method NAME] [--device cpu|webgpu|cuda] [--dtype f16|f32] [--threads N] [--json FILE] [--compare-cpu]
 *        [--view-batch-size N]
 * --compare-cpu runs the same generation on the CPU provider afterwards and reports the final images' difference.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipeline } from '../src/pipeline/pipeline.js';
import { DEVICES, type Device } from '../src/engine/providers.js';
import type { Method } from '../src/options/index.js';
import { writeRandomSdxlModel } from './random-model.js';

/** Mean of the steps after the first (the first also opens sessions); the only step when there is one. */
function steady(seconds: readonly number[]): number {
  const rest = seconds.length > 1 ? seconds.slice(1) : seconds;
  return rest.length ? rest.reduce((a, b) => a + b, 0) / rest.length : 0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      scale: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      steps: { type: 'string', default: '4' },
      method: { type: 'string', default: 'accdiffusion' },
      device: { type: 'string', default: 'cpu' },
      dtype: { type: 'string', default: 'f16' },
      threads: { type: 'string' },
      prompt: { type: 'string', default: 'a red circle and a blue square on a gray background' },
      json: { type: 'string' },
      'compare-cpu': { type: 'boolean', default: false },
      'view-batch-size': { type: 'string' },
    },
  });
  const device = values.device as Device;
  if (!DEVICES.includes(device)) throw new Error(`--device must be one of ${DEVICES.join(', ')}`);
  if (!values.model) throw new Error('--model is required');
  let model = values.model;
  let scratch: string | undefined;
  let written: { parameters: number; seconds: number } | undefined;
  if (model === 'random-sdxl' || model === 'random-tiny') {
    scratch = mkdtempSync(join(tmpdir(), 'acc-random-model-'));
    written = await writeRandomSdxlModel(join(scratch, 'model'), model === 'random-sdxl' ? 'sdxl' : 'tiny', values.dtype === 'f32' ? 'F32' : 'F16');
    console.log(`${model}: wrote ${(written.parameters / 1e9).toFixed(2)} G random ${values.dtype} parameters in ${written.seconds.toFixed(1)} s`);
    model = join(scratch, 'model');
  }
  try {
    const t0 = performance.now();
    let stepStart = performance.now();
    const pipe = await loadPipeline(model, {
      device,
      ...(values.threads ? { threads: Number(values.threads) } : {}),
    });
    const loadSeconds = (performance.now() - t0) / 1000;
    const native = pipe.model.nativeSize;
    const width = values.width ? Number(values.width) : native * Number(values.scale ?? 2);
    const height = values.height ? Number(values.height) : native * Number(values.scale ?? 2);
    const steps = Number(values.steps);
    const generateOptions = {
      prompt: values.prompt, width, height, steps, method: values.method as Method, seed: 0,
      ...(values['view-batch-size'] ? { viewBatchSize: Number(values['view-batch-size']) } : {}),
    };
    // Seconds of each finished step, per stage (the first step of a stage also opens that stage's sessions).
    const stepSeconds = new Map<number, number[]>();
    stepStart = performance.now();
    const result = await pipe.generate(
      generateOptions,
      {
        onProgress: (e) => {
          const now = performance.now();
          if (e.type === 'stage-start') stepStart = now;
          if (e.type !== 'step') return;
          const sec = (now - stepStart) / 1000;
          stepSeconds.set(e.stage, [...(stepSeconds.get(e.stage) ?? []), sec]);
          process.stderr.write(`  stage ${e.stage} step ${e.step}/${e.steps}: ${sec.toFixed(2)} s\n`);
          stepStart = now;
        },
      },
    );
    await pipe.dispose();
    const r = result.report;
    let vsCpu: { maxAbs: number; meanAbs: number } | undefined;
    if (values['compare-cpu'] && device !== 'cpu') {
      // The same generation on the CPU provider: how far the device's final image is from it (0-255 levels).
      const cpu = await loadPipeline(model, values.threads ? { threads: Number(values.threads) } : {});
      const ref = (await cpu.generate(generateOptions)).image.rgb;
      await cpu.dispose();
      let maxAbs = 0;
      let sum = 0;
      for (let i = 0; i < ref.length; i++) {
        const d = Math.abs(ref[i]! - result.image.rgb[i]!);
        maxAbs = Math.max(maxAbs, d);
        sum += d;
      }
      vsCpu = { maxAbs, meanAbs: sum / ref.length };
      console.log(`  final image vs the cpu provider's: max abs diff ${maxAbs} of 255, mean ${vsCpu.meanAbs.toFixed(3)}`);
    }
    const label = `${values.method} ${values.model} ${width}x${height}, ${steps} steps, ${device}`;
    console.log(`${label}: load ${loadSeconds.toFixed(1)} s, encode ${r.seconds.encode.toFixed(2)} s, generate ${r.seconds.total.toFixed(1)} s, ${r.unetCalls} UNet calls`);
    const stages = r.stages.map((s) => ({
      ...s,
      unetCallsPerStep: s.unetCalls / steps,
      secondsPerUnetCall: s.unetCalls ? s.seconds.denoise / s.unetCalls : 0,
      stepSeconds: stepSeconds.get(s.stage) ?? [],
      // Steps after the first (which opens sessions): the steady cost of one step and of one UNet row.
      steadySecondsPerStep: steady(stepSeconds.get(s.stage) ?? []),
    }));
    for (const s of stages) {
      console.log(
        `  stage ${s.stage} ${s.width}x${s.height}: denoise ${s.seconds.denoise.toFixed(2)} s, decode ${s.seconds.decode.toFixed(2)} s, ` +
          `${s.unetCalls} UNet calls (${s.unetCallsPerStep} per step), ${s.secondsPerUnetCall.toFixed(3)} s per call; ` +
          `steps ${s.stepSeconds.map((x) => x.toFixed(2)).join(', ')} s, steady ${s.steadySecondsPerStep.toFixed(3)} s/step = ${(s.steadySecondsPerStep / s.unetCallsPerStep).toFixed(4)} s per UNet row`,
      );
    }
    if (values.json) {
      const row = { label, model: values.model, device, method: values.method, width, height, steps, written, loadSeconds, vsCpu, encodeSeconds: r.seconds.encode, totalSeconds: r.seconds.total, unetCalls: r.unetCalls, stages: stages.map(({ windowPrompts: _w, windows: _v, ...s }) => s) };
      appendFileSync(values.json, JSON.stringify(row) + '\n');
    }
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
