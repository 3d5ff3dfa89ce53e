/**
 * loadPipeline: the library's entry point. Loads a model folder once; generate() many times.
 */
import { OptionsError } from '../errors.js';
import { Components } from '../loading/components.js';
import { generate } from './generate.js';
import { estimateRunCost, type RunCost } from './cost-estimate.js';
import type { GenerateOptions } from '../options/index.js';
import type { LoadOptions, Pipeline, PipelineModelInfo, RunContext, RunHooks } from './pipeline-api.js';
import type { GenerateResult } from './result.js';

class LoadedPipeline implements Pipeline {
  constructor(
    readonly components: Components,
    readonly model: PipelineModelInfo,
    private readonly loadSeconds: number,
    private readonly warnings: { sink: ((message: string) => void) | undefined },
  ) {}

  private running = false;

  /**
   * One generation at a time per pipeline: the run's warnings sink and the UNet call counts of its report
   * belong to the pipeline, so a second call while one runs fails at once with an OptionsError (queue the
   * calls, as the web page does, or load a second pipeline).
   */
  async generate(options: GenerateOptions, context: RunContext & RunHooks = {}): Promise<GenerateResult> {
    if (this.running) throw new OptionsError('this pipeline is already generating; await the running generate() before starting another');
    this.running = true;
    const onProgress = context.onProgress;
    this.warnings.sink = onProgress ? (message) => onProgress({ type: 'warning', message }) : undefined;
    try {
      const result = await generate(this.components, options, context);
      return { ...result, report: { ...result.report, seconds: { ...result.report.seconds, load: this.loadSeconds } } };
    } finally {
      this.warnings.sink = undefined;
      this.running = false;
    }
  }

  estimate(options: GenerateOptions): RunCost {
    return estimateRunCost(this.components, options);
  }

  async dispose(): Promise<void> {
    await this.components.dispose();
  }
}

/**
 * Loads a diffusers model folder (or a Hugging Face repo id found in the local cache), or a single-file
 * `.safetensors` checkpoint (SD1.x, SD2.x, SDXL base; src/loading/single-file.ts), for generation.
 *
 * ```ts
 * const pipe = await loadPipeline('models/shapes-xl');
 * const { image } = await pipe.generate({ prompt: 'a red circle on a gray background', width: 1024, height: 1024 });
 * await pipe.dispose();
 * ```
 */
export async function loadPipeline(modelSpec: string, options: LoadOptions = {}): Promise<Pipeline> {
  const t0 = performance.now();
  const warnings: { sink: ((message: string) => void) | undefined } = { sink: undefined };
  const components = await Components.load(modelSpec, {
    ...(options.device ? { device: options.device } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
    ...(options.predictionType ? { predictionType: options.predictionType } : {}),
    ...(options.vae !== undefined ? { vae: options.vae } : {}),
    ...(options.loras?.length ? { loras: options.loras } : {}),
    onWarning: (message) => (warnings.sink ?? ((m: string) => options.onProgress?.({ type: 'warning', message: m })))(message),
  });
  const f = components.folder;
  const model: PipelineModelInfo = { path: f.path, nativeSize: f.nativeSize, nativeLatentSize: f.nativeLatentSize, vaeScaleFactor: f.vaeScaleFactor, schedulerClass: f.scheduler.className,
    ...(components.loras.length ? { loras: components.loras.map((l) => ({ name: l.name, hash: l.hash, scale: l.scale })) } : {}) };
  return new LoadedPipeline(components, model, (performance.now() - t0) / 1000, warnings);
}
