/**
 * The library's entry contract: load a model folder once, generate many images.
 * Implemented by src/pipeline/pipeline.ts (loadPipeline).
 */
import type { Device } from '../engine/providers.js';
import type { ProgressCallback } from './events.js';
import type { GenerateOptions } from './options.js';
import type { GenerateResult, StageResult } from './result.js';
import type { Tensor } from '../tensor/tensor.js';
import type { WindowPrompts, WindowPromptsReview } from './window-prompts.js';

export interface LoadOptions {
  /** Execution provider (default cpu). */
  readonly device?: Device;
  /** Intra-op threads per session (default: onnxruntime's choice). */
  readonly threads?: number;
  readonly onProgress?: ProgressCallback;
}

export interface RunContext {
  readonly onProgress?: ProgressCallback;
  /** Aborting stops at the next step boundary with an AbortedError; nothing partial is returned. */
  readonly signal?: AbortSignal;
  /** Folder for stage checkpoints (written after every finished stage). */
  readonly stateDir?: string;
  /** Continue from the last finished stage saved in stateDir (same options and seed give the same image). */
  readonly resume?: boolean;
  /** The latents [1,4,h,w] after every denoising step of every stage (`step` counts from 0), e.g. for live previews. */
  readonly onStepLatents?: (stage: number, step: number, latents: Tensor) => void;
  /** Each stage's result as it finishes (with its image when GenerateOptions.stageImages). */
  readonly onStage?: (stage: StageResult) => void;
  /**
   * AccDiffusion with patch prompts: after the native pass, the run waits for this promise; the window prompts
   * it resolves to replace those chosen from the masks and are recorded in report.options.windowPrompts.
   */
  readonly reviewWindowPrompts?: (review: WindowPromptsReview) => Promise<WindowPrompts | undefined>;
}

/** Facts about the loaded model that callers (CLI, reports) need. */
export interface PipelineModelInfo {
  /** The model folder (resolved path). */
  readonly path: string;
  /** Native image size in pixels (UNet sample_size × VAE factor). */
  readonly nativeSize: number;
  readonly nativeLatentSize: number;
  readonly vaeScaleFactor: number;
}

export interface Pipeline {
  readonly model: PipelineModelInfo;
  generate(options: GenerateOptions, context?: RunContext): Promise<GenerateResult>;
  dispose(): Promise<void>;
}
