/**
 * The page's job queue: one generation at a time on this machine, the rest wait in order. A job loads its
 * model (the last pipeline is kept for the next job with the same model), runs the library's generate with
 * the page's hooks (progress, live preview, stage images, the native-pass review), and writes the PNG (with
 * its parameters text) and the report JSON to the outputs folder through the CLI's atomic writers, so a
 * cancelled or failed job leaves nothing behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbortedError, AccDiffusionError, OptionsError } from '../errors.js';
import { packageVersion } from '../loading/package-root.js';
import { formatParameters } from '../cli/parameters.js';
import { writeOutputs } from '../cli/outputs.js';
import { resizeExactly, withInputParameters } from '../cli/upscale.js';
import type { Device } from '../engine/providers.js';
import type { LoadOptions, Pipeline, RunContext } from '../pipeline/pipeline-api.js';
import type { WindowPrompts, WindowPromptsReview } from '../patch/window-prompts.js';
import { imagePng, maskPngRgba, stageJpeg } from './job-assets.js';
import { Job, type JobSummary } from './job.js';
import { previewJpeg } from './preview.js';
import type { JobRequest } from './settings.js';

export type LoadPipelineFn = (modelPath: string, options: LoadOptions) => Promise<Pipeline>;

export interface JobQueueConfig {
  /** Absolute outputs folder (exists). */
  readonly outputs: string;
  readonly device: Device;
  readonly threads?: number;
  /** Least seconds between two live previews of a stage (its first step always has one). Default 1. */
  readonly previewInterval?: number;
  /** Called with a job's summary whenever it changed (progress at most every 200 ms). */
  readonly onChange: (job: JobSummary) => void;
  /** Default: the library's loadPipeline. */
  readonly loadPipeline?: LoadPipelineFn;
  /** Finished jobs kept in memory (with their images); older ones are dropped. Default 20. */
  readonly keep?: number;
}

async function libraryLoadPipeline(modelPath: string, options: LoadOptions): Promise<Pipeline> {
  const { loadPipeline } = await import('../pipeline/pipeline.js');
  return loadPipeline(modelPath, options);
}

function schedulerClass(folder: string): string | undefined {
  try {
    const cfg = JSON.parse(readFileSync(join(folder, 'scheduler', 'scheduler_config.json'), 'utf8')) as { _class_name?: unknown };
    return typeof cfg._class_name === 'string' ? cfg._class_name : undefined;
  } catch {
    return undefined;
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

export class JobQueue {
  private readonly jobs = new Map<string, Job>();
  private running: Job | undefined;
  private pipeline: { path: string; pipe: Pipeline } | undefined;
  private closed = false;
  private readonly lastSent = new Map<string, number>();

  constructor(private readonly cfg: JobQueueConfig) {}

  list(): JobSummary[] {
    return [...this.jobs.values()].map((j) => j.summary());
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Queues a checked request; the run starts when the jobs before it ended. */
  submit(request: JobRequest): JobSummary {
    if (this.closed) throw new OptionsError('the server is shutting down');
    const job = new Job(request);
    this.jobs.set(job.id, job);
    this.prune();
    this.changed(job, true);
    void this.pump();
    return job.summary();
  }

  /** Stops a job at its next step (or removes it from the queue); nothing of it is written. */
  cancel(id: string): JobSummary {
    const job = this.jobs.get(id);
    if (!job) throw new OptionsError(`no job ${id}`);
    if (job.state === 'done' || job.state === 'failed' || job.state === 'cancelled') return job.summary();
    job.controller.abort();
    if (job.state === 'queued') job.state = 'cancelled';
    job.resolveReview?.(undefined);
    job.resolveReview = undefined;
    this.changed(job, true);
    return job.summary();
  }

  /** Continues a job waiting after its native pass with these window prompts (stages may be left out). */
  continueWith(id: string, prompts: WindowPrompts): JobSummary {
    const job = this.jobs.get(id);
    if (!job || !job.resolveReview || !job.review) throw new OptionsError(`job ${id} is not waiting for window prompts`);
    for (const [stage, list] of Object.entries(prompts)) {
      const st = job.review.stages.find((s) => String(s.stage) === stage);
      if (!st) throw new OptionsError(`stage ${stage} has no windows`);
      if (list.length !== st.windows.length) throw new OptionsError(`stage ${stage} has ${st.windows.length} windows, got ${list.length} prompts`);
    }
    const resolve = job.resolveReview;
    job.resolveReview = undefined;
    job.state = 'running';
    job.clock(true);
    resolve(Object.keys(prompts).length > 0 ? prompts : undefined);
    this.changed(job, true);
    return job.summary();
  }

  /** Cancels everything and releases the model. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.jobs.values()) if (job.state !== 'done' && job.state !== 'failed') this.cancel(job.id);
    while (this.running) await new Promise((r) => setTimeout(r, 20));
    await this.pipeline?.pipe.dispose();
    this.pipeline = undefined;
  }

  private changed(job: Job, now = false): void {
    const t = Date.now();
    if (!now && t - (this.lastSent.get(job.id) ?? 0) < 200) return;
    this.lastSent.set(job.id, t);
    try {
      this.cfg.onChange(job.summary());
    } catch {
      // a listener's failure must not stop the job
    }
  }

  private prune(): void {
    const keep = this.cfg.keep ?? 20;
    const finished = [...this.jobs.values()].filter((j) => j.state === 'done' || j.state === 'failed' || j.state === 'cancelled');
    for (const j of finished.slice(0, Math.max(0, finished.length - keep))) {
      this.jobs.delete(j.id);
      this.lastSent.delete(j.id);
    }
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    const next = [...this.jobs.values()].find((j) => j.state === 'queued');
    if (!next) return;
    this.running = next;
    try {
      await this.run(next);
    } catch (e) {
      next.clock(false);
      if (next.controller.signal.aborted || e instanceof AbortedError) {
        next.state = 'cancelled';
      } else {
        next.state = 'failed';
        next.error = e instanceof AccDiffusionError ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
        if (!(e instanceof AccDiffusionError)) process.stderr.write(`accdiffusion serve: job ${next.id}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      }
      next.resolveReview = undefined;
    } finally {
      this.running = undefined;
      this.changed(next, true);
    }
    void this.pump();
  }

  private async pipelineFor(path: string): Promise<Pipeline> {
    if (this.pipeline?.path === path) return this.pipeline.pipe;
    const old = this.pipeline;
    this.pipeline = undefined;
    await old?.pipe.dispose();
    const pipe = await (this.cfg.loadPipeline ?? libraryLoadPipeline)(path, { device: this.cfg.device, ...(this.cfg.threads ? { threads: this.cfg.threads } : {}) });
    this.pipeline = { path, pipe };
    return pipe;
  }

  private async run(job: Job): Promise<void> {
    const { request } = job;
    const signal = job.controller.signal;
    job.state = 'loading';
    this.changed(job, true);
    const pipe = await this.pipelineFor(request.model.path);
    if (signal.aborted) throw new AbortedError('cancelled while loading');
    job.state = 'running';
    job.clock(true);
    this.changed(job, true);

    let lastPreview = { stage: 0, at: 0 };
    let previewBusy = false;
    const interval = (this.cfg.previewInterval ?? 1) * 1000;
    const context: RunContext = {
      signal,
      onProgress: (e) => {
        job.onEvent(e);
        this.changed(job, e.type === 'stage-start');
      },
      onStepLatents: (stage, _step, latents) => {
        const t = Date.now();
        if (previewBusy || (stage === lastPreview.stage && t - lastPreview.at < interval)) return;
        lastPreview = { stage, at: t };
        previewBusy = true;
        const copy = { shape: latents.shape, data: Float32Array.from(latents.data) };
        previewJpeg(copy, request.model.sdxl)
          .then((jpeg) => {
            job.assets.set('preview', { type: 'image/jpeg', data: jpeg });
            job.previewSeq++;
            this.changed(job, true);
          })
          .catch(() => {})
          .finally(() => (previewBusy = false));
      },
      onStage: (st) => {
        if (!st.image) return;
        const image = st.image;
        stageJpeg(image)
          .then((jpeg) => {
            job.assets.set(`stage-${st.stage}`, { type: 'image/jpeg', data: jpeg });
            job.stageImages.push({ stage: st.stage, width: image.width, height: image.height });
            this.changed(job, true);
          })
          .catch(() => {}); // a display image that failed to encode is only missing from the page
      },
      reviewWindowPrompts: (review) => this.review(job, review),
    };
    const generated = await pipe.generate(request.options, context);
    const up = request.upscale; // an upscale ran at multiples of 8 and ends at exactly scale × the input's size
    const result = up ? { ...generated, image: await resizeExactly(generated.image, up.width, up.height) } : generated;
    if (signal.aborted) throw new AbortedError('cancelled');
    job.state = 'writing';
    this.changed(job, true);

    const options = result.report.options;
    const file = this.outputName(options.seed, up ? `${up.input.name.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60)}-upscaled` : 'accdiffusion');
    const out = join(this.cfg.outputs, file);
    const text = formatParameters({ options, model: request.model.id, modelSchedulerClass: schedulerClass(request.model.path), version: `accdiffusion ${packageVersion()}` });
    const parameters = up ? withInputParameters(text, up.input, options.strength) : text;
    await writeOutputs(result, { out, parameters, report: out.replace(/\.png$/, '.json'), force: false });
    job.clock(false);
    job.result = {
      file, width: result.image.width, height: result.image.height, seconds: result.report.seconds.total, unetCalls: result.report.unetCalls,
      ...(options.windowPrompts ? { windowPrompts: options.windowPrompts } : {}),
      stagePrompts: result.report.stages.filter((s) => s.windowPrompts).map((s) => ({ stage: s.stage, prompts: s.windowPrompts! })),
    };
    job.state = 'done';
  }

  /** The pipeline's review hook: keeps the masks and windows; waits for the user only when the job asked to. */
  private async review(job: Job, review: WindowPromptsReview): Promise<WindowPrompts | undefined> {
    job.assets.set('native', { type: 'image/png', data: await imagePng(review.nativeImage) });
    for (const m of review.masks) job.assets.set(`mask-${m.index}`, { type: 'image/png', data: await maskPngRgba(m) });
    job.review = {
      native: { width: review.nativeImage.width, height: review.nativeImage.height },
      masks: review.masks.map((m) => ({ index: m.index, token: m.token, width: m.width, height: m.height })),
      stages: review.stages.map((s) => ({ ...s, windows: s.windows.map((w) => ({ ...w })), prompts: [...s.prompts] })),
    };
    if (!job.request.review || job.controller.signal.aborted) {
      this.changed(job, true);
      return undefined;
    }
    job.clock(false);
    job.state = 'review';
    const wait = new Promise<WindowPrompts | undefined>((resolve) => (job.resolveReview = resolve));
    this.changed(job, true);
    return wait;
  }

  /** <prefix>-<date>-<time>-<seed>[-k].png (prefix accdiffusion, or <input>-upscaled as the CLI's), not yet in the outputs folder. */
  private outputName(seed: number | bigint, prefix: string): string {
    const d = new Date();
    const base = `${/^[A-Za-z0-9]/.test(prefix) ? '' : 'image'}${prefix}-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}-${seed}`;
    for (let k = 1; ; k++) {
      const name = k === 1 ? `${base}.png` : `${base}-${k}.png`;
      if (!existsSync(join(this.cfg.outputs, name)) && !existsSync(join(this.cfg.outputs, name.replace(/\.png$/, '.json')))) return name;
    }
  }
}
