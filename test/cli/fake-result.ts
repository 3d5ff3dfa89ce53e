/**
 * A hand-made GenerateResult and a fake Pipeline for the CLI tests, so the CLI's parts are tested
 * without running any model: two stages (native 64×48, then 128×96), two token masks, patch windows.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { countUNetWork, type RunCost } from '../../src/pipeline/cost-estimate.js';
import { openModelFolder } from '../../src/weights/diffusers-folder.js';
import { resolveOptions, type GenerateOptions } from '../../src/options/index.js';
import type { LoadOptions, Pipeline, RunContext } from '../../src/pipeline/pipeline-api.js';
import type { GenerateResult, RgbImage, StageResult, TokenMask, Window } from '../../src/pipeline/result.js';
import { AbortedError } from '../../src/errors.js';
import { tensor } from '../../src/tensor/tensor.js';

/** An image whose every pixel differs from its neighbours, so a lossy round trip would show. */
export function patternImage(width: number, height: number, seed = 0): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      rgb[i] = (x * 7 + seed) & 255;
      rgb[i + 1] = (y * 13 + seed) & 255;
      rgb[i + 2] = (x * y + seed) & 255;
    }
  }
  return { width, height, rgb };
}

function latents(h: number, w: number, base: number) {
  const t = tensor([1, 4, h, w]);
  for (let i = 0; i < t.data.length; i++) t.data[i] = base + i / 1000;
  return t;
}

/** A GenerateResult for `options` (sizes are fixed: native 64×48 → 128×96, VAE factor 8). */
export function fakeResult(options: GenerateOptions = { prompt: 'a red circle, a blue square', width: 128, height: 96 }): GenerateResult {
  const resolved = resolveOptions(options, 8);
  const windows: Window[] = [
    { top: 0, left: 0, height: 6, width: 8 },
    { top: 0, left: 8, height: 6, width: 8 },
    { top: 6, left: 0, height: 6, width: 8 },
    { top: 6, left: 8, height: 6, width: 8 },
  ];
  const windowPrompts = ['a red circle', 'a blue square', 'a red', 'blue square'];
  const stages: StageResult[] = [
    { stage: 1, image: patternImage(64, 48, 1), latents: latents(6, 8, 1) },
    { stage: 2, image: patternImage(128, 96, 2), latents: latents(12, 16, 2), windows, windowPrompts },
  ];
  const mask = (on: (x: number, y: number) => boolean): Uint8Array => {
    const m = new Uint8Array(8 * 6);
    for (let y = 0; y < 6; y++) for (let x = 0; x < 8; x++) m[y * 8 + x] = on(x, y) ? 255 : 0;
    return m;
  };
  const masks: TokenMask[] = [
    { index: 2, token: 'red</w>', mask: mask((x) => x < 4), width: 8, height: 6 },
    { index: 6, token: 'square</w>', mask: mask((_, y) => y >= 3), width: 8, height: 6 },
  ];
  const { initLatents: _unused, ...reported } = resolved;
  return {
    image: stages[1]!.image!,
    stages,
    masks,
    report: {
      options: reported,
      model: 'fake',
      stages: stages.map((s) => ({
        stage: s.stage, width: s.image!.width, height: s.image!.height, windowPrompts: s.windowPrompts, windows: s.windows,
        seconds: { denoise: 0.5, decode: 0.1 }, unetCalls: 10,
      })),
      seconds: { load: 0.1, encode: 0.01, total: 1.2 },
      unetCalls: 20,
      peakRssBytes: 123456789,
    },
  };
}

export interface FakeCalls {
  loads: Array<{ spec: string; options: LoadOptions }>;
  generates: Array<{ options: GenerateOptions; context: RunContext | undefined }>;
  disposed: number;
}

/**
 * A fake loadPipeline: native size 64 (8 latent cells × 8). `behaviour` decides what generate does:
 * return the fake result (after emitting progress), throw, or wait for the abort signal.
 */
export function fakeLoader(behaviour: 'ok' | 'wait-abort' | Error = 'ok'): { load: (spec: string, options: LoadOptions) => Promise<Pipeline>; calls: FakeCalls } {
  const calls: FakeCalls = { loads: [], generates: [], disposed: 0 };
  const load = async (spec: string, options: LoadOptions): Promise<Pipeline> => {
    calls.loads.push({ spec, options });
    options.onProgress?.({ type: 'load', component: 'unet', done: false });
    options.onProgress?.({ type: 'load', component: 'unet', done: true });
    return {
      // the scheduler class as the real loader reports it (read from the folder, as loadPipeline does)
      model: { path: spec, nativeSize: 64, nativeLatentSize: 8, vaeScaleFactor: 8, ...(existsSync(join(spec, 'model_index.json')) ? { schedulerClass: openModelFolder(spec).scheduler.className } : {}) },
      async generate(o: GenerateOptions, context?: RunContext): Promise<GenerateResult> {
        calls.generates.push({ options: o, context });
        const emit = context?.onProgress ?? (() => {});
        emit({ type: 'stage-start', stage: 1, stages: 2, width: 64, height: 64, steps: 2 });
        emit({ type: 'step', stage: 1, step: 1, steps: 2 });
        if (behaviour === 'wait-abort') {
          await new Promise<void>((resolve) => {
            if (context?.signal?.aborted) resolve();
            context?.signal?.addEventListener('abort', () => resolve());
          });
          throw new AbortedError('stopped at step 2 of stage 1');
        }
        if (behaviour instanceof Error) throw behaviour;
        emit({ type: 'step', stage: 1, step: 2, steps: 2 });
        emit({ type: 'stage-end', stage: 1, seconds: 0.5 });
        return fakeResult(o);
      },
      estimate(o: GenerateOptions): RunCost {
        return countUNetWork({ method: o.method ?? 'accdiffusion', width: o.width ?? 64, height: o.height ?? 64, nativeLatentSize: 8, vaeScaleFactor: 8, steps: o.steps ?? 50, classifierFreeGuidance: true, stride: 4 });
      },
      async dispose() {
        calls.disposed++;
      },
    };
  };
  return { load, calls };
}
