/**
 * One queued generation of the web page: its state, progress with an estimate of the time left, and the
 * images it made so far (live preview, each finished stage, the native pass's masks), held in memory until
 * the job is dropped. The queue (jobs.ts) runs it; the page sees it through `summary()`.
 */
import { randomBytes } from 'node:crypto';
import { countUNetWork } from '../pipeline/cost-estimate.js';
import type { ProgressEvent } from '../events.js';
import { resolveOptions, type GenerateOptions } from '../options/index.js';
import type { WindowPrompts } from '../patch/window-prompts.js';
import type { ModelEntry } from './models.js';
import type { JobRequest } from './settings.js';

export type JobState = 'queued' | 'loading' | 'running' | 'review' | 'writing' | 'done' | 'failed' | 'cancelled';

/** Where a job is, for the page's progress line. Times in seconds. */
export interface JobProgress {
  readonly stage: number;
  readonly stages: number;
  readonly step: number;
  readonly steps: number;
  /** The window batch within the step (patch or dilated branch), 0 when none. */
  readonly batch: number;
  readonly batches: number;
  readonly branch: string;
  /** Denoising or decoding. */
  readonly phase: 'denoise' | 'decode' | '';
  /** Share of the whole run's work done, 0..1 (stages weighted by their UNet evaluations per step). */
  readonly fraction: number;
  /** Seconds of work so far (loading and the wait for window prompts not counted). */
  readonly elapsed: number;
  /** Estimated seconds left, null until a step finished. */
  readonly eta: number | null;
}

/** The native pass's review: masks and windows, served as JSON; images are in the job's assets. */
export interface ReviewData {
  readonly native: { readonly width: number; readonly height: number };
  readonly masks: ReadonlyArray<{ readonly index: number; readonly token: string; readonly width: number; readonly height: number }>;
  readonly stages: ReadonlyArray<{
    readonly stage: number;
    readonly latentWidth: number;
    readonly latentHeight: number;
    readonly windows: ReadonlyArray<{ top: number; left: number; height: number; width: number }>;
    readonly prompts: readonly string[];
  }>;
}

export interface JobResult {
  /** File name in the outputs folder. */
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly seconds: number;
  readonly unetCalls: number;
  readonly windowPrompts?: WindowPrompts;
  /** Per-stage window prompts as used (from the report). */
  readonly stagePrompts: ReadonlyArray<{ readonly stage: number; readonly prompts: readonly string[] }>;
}

/** What the page is told about a job. */
export interface JobSummary {
  readonly id: string;
  readonly state: JobState;
  readonly created: number;
  readonly model: string;
  readonly settings: Record<string, unknown>;
  readonly progress: JobProgress;
  readonly previewSeq: number;
  readonly stageImages: ReadonlyArray<{ readonly stage: number; readonly width: number; readonly height: number }>;
  readonly review: ReviewData | null;
  /** The job waits for the user's window prompts. */
  readonly awaitingPrompts: boolean;
  readonly result: JobResult | null;
  readonly error: string | null;
}

/**
 * Relative work of each stage (the library's cost estimate, pipeline/cost-estimate.ts, in native-size UNet
 * evaluations; CFG doubles every stage alike, and the attention grid is SD/SDXL's 4 latent cells), for the progress
 * bar; [1] for options the run itself will refuse.
 */
export function stageWeights(o: GenerateOptions, model: Pick<ModelEntry, 'nativeLatentSize' | 'vaeScaleFactor'>): number[] {
  try {
    const r = resolveOptions(o, model.nativeLatentSize);
    const cost = countUNetWork({
      method: r.method, width: r.width, height: r.height, nativeLatentSize: model.nativeLatentSize, vaeScaleFactor: model.vaeScaleFactor,
      steps: r.steps, classifierFreeGuidance: r.guidance > 1, stride: r.stride,
      // SD/SDXL cross-attention grid (1/32 of the image); only methods with patch prompts read it
      ...(r.patchPrompts ? { patchPromptCell: 4 } : {}),
    });
    return cost.stages.map((st) => st.nativeSizeEvaluations);
  } catch {
    return [1];
  }
}

export class Job {
  readonly id = randomBytes(8).toString('hex');
  readonly created = Date.now();
  readonly controller = new AbortController();
  state: JobState = 'queued';
  error: string | null = null;
  result: JobResult | null = null;
  review: ReviewData | null = null;
  /** Resolves the pipeline's reviewWindowPrompts promise. */
  resolveReview: ((prompts: WindowPrompts | undefined) => void) | undefined;
  /** Images by name: preview, stage-<k>, native, mask-<i>. */
  readonly assets = new Map<string, { type: string; data: Buffer }>();
  previewSeq = 0;
  readonly stageImages: Array<{ stage: number; width: number; height: number }> = [];
  private readonly weights: number[];
  private stage = 0;
  private stages = 0;
  private step = 0;
  private steps = 0;
  private batch = 0;
  private batches = 0;
  private branch = '';
  private phase: JobProgress['phase'] = '';
  /** Work seconds before the current running period, and when that period began (ms), or undefined when paused. */
  private workedBefore = 0;
  private runningSince: number | undefined;

  constructor(readonly request: JobRequest) {
    const o = request.options;
    this.weights = stageWeights(o, request.model);
  }

  /** Starts or stops the work clock (stopped while loading and while waiting for the user). */
  clock(running: boolean): void {
    if (running && this.runningSince === undefined) this.runningSince = Date.now();
    if (!running && this.runningSince !== undefined) {
      this.workedBefore += (Date.now() - this.runningSince) / 1000;
      this.runningSince = undefined;
    }
  }

  /** Folds a pipeline event into the progress. */
  onEvent(e: ProgressEvent): void {
    if (e.type === 'stage-start') Object.assign(this, { stage: e.stage, stages: e.stages, step: 0, steps: e.steps, batch: 0, batches: 0, phase: 'denoise' });
    else if (e.type === 'step') Object.assign(this, { stage: e.stage, step: e.step, steps: e.steps, batch: 0, batches: 0 });
    else if (e.type === 'window-batch') Object.assign(this, { stage: e.stage, batch: e.batch, batches: e.batches, branch: e.branch });
    else if (e.type === 'decode') this.phase = 'decode';
  }

  progress(): JobProgress {
    const elapsed = this.workedBefore + (this.runningSince === undefined ? 0 : (Date.now() - this.runningSince) / 1000);
    const total = this.weights.reduce((a, b) => a + b, 0);
    const idx = Math.max(0, Math.min(this.weights.length, this.stage) - 1);
    const within = this.steps > 0 ? Math.min(1, (this.step + (this.batches > 0 ? this.batch / this.batches / 2 : 0)) / this.steps) : 0;
    const doneWork = this.weights.slice(0, idx).reduce((a, b) => a + b, 0) + (this.stage > 0 ? (this.weights[idx] ?? 0) * within : 0);
    const fraction = this.state === 'done' ? 1 : Math.min(1, doneWork / total);
    const eta = fraction > 0 && fraction < 1 && this.step > 0 ? (elapsed * (1 - fraction)) / fraction : null;
    return { stage: this.stage, stages: this.stages, step: this.step, steps: this.steps, batch: this.batch, batches: this.batches, branch: this.branch, phase: this.phase, fraction, elapsed, eta };
  }

  summary(): JobSummary {
    return {
      id: this.id, state: this.state, created: this.created, model: this.request.model.id, settings: this.request.settings,
      progress: this.progress(), previewSeq: this.previewSeq, stageImages: [...this.stageImages], review: this.review,
      awaitingPrompts: this.resolveReview !== undefined, result: this.result, error: this.error,
    };
  }
}
