/**
 * The library's entry contract: load a model folder once, generate many images.
 * Implemented by src/pipeline/pipeline.ts (loadPipeline).
 */
import type { Device } from '../engine/providers.js';
import type { Tensor } from '../tensor/tensor.js';
import type { RandomStreams } from '../sampling/random-streams.js';
import type { RunCost } from './cost-estimate.js';
import type { ProgressCallback } from '../events.js';
import type { GenerateOptions } from '../options/index.js';
import type { GenerateResult, StageResult } from './result.js';
import type { WindowPrompts, WindowPromptsReview } from '../patch/window-prompts.js';

export interface LoadOptions {
  /** Execution provider (default cpu). */
  readonly device?: Device;
  /** Intra-op threads per session (default: onnxruntime's choice). */
  readonly threads?: number;
  readonly onProgress?: ProgressCallback;
  /** For a single-file checkpoint: a diffusers folder whose configs and tokenizers to use instead of the detected family's. */
  readonly config?: string;
  /** LoRA files with their scales, applied to the UNet and text encoders (src/loading/lora.ts). */
  readonly loras?: ReadonlyArray<{ readonly file: string; readonly scale: number }>;
  /**
   * A diffusers VAE folder or a single-file VAE (.safetensors, diffusers or LDM names) replacing the model's; a folder's
   * config (scaling_factor, latents_mean/std) is used, a file takes the model's VAE config.
   */
  readonly vae?: string;
  /** Overrides the scheduler's prediction_type (e.g. SD2 768-v vs 512 base checkpoints, which the file cannot tell apart). */
  readonly predictionType?: 'epsilon' | 'v_prediction';
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

/**
 * Hooks into a run for replays and parity tests (the tool's own tests use them, with RunContext.onStepLatents, to
 * compare every step with diffusers and with the original AccDiffusion code). Latents are NCHW float32 [1, 4, h, w] in latent cells,
 * scaled as the scheduler sees them (not divided by the VAE's scaling factor).
 */
export interface RunHooks {
  /** Random streams to draw from instead of the seeded ones (recorded draws of a reference run). */
  readonly random?: RandomStreams;
  /** Called after each stage (1 = the native pass or the only stage) with its final latents. */
  readonly onStageLatents?: (stage: number, latents: Tensor) => void;
}

/** Facts about the loaded model that callers (CLI, reports) need. */
export interface PipelineModelInfo {
  /** The model folder (resolved path). */
  readonly path: string;
  /** Native image size in pixels (UNet sample_size × VAE factor). */
  readonly nativeSize: number;
  readonly nativeLatentSize: number;
  readonly vaeScaleFactor: number;
  /** The model's scheduler class (e.g. "EulerDiscreteScheduler"), as its config names it. */
  readonly schedulerClass?: string;
  /** The LoRAs applied: name (file base name), A1111 short hash, scale. */
  readonly loras?: ReadonlyArray<{ readonly name: string; readonly hash: string; readonly scale: number }>;
}

export interface Pipeline {
  readonly model: PipelineModelInfo;
  /** One call at a time: a call while another runs on this pipeline throws an OptionsError at once. */
  generate(options: GenerateOptions, context?: RunContext & RunHooks): Promise<GenerateResult>;
  /**
   * The UNet work generate(options) would do (rows per stage, equal to its report's unetCalls) and the memory of
   * its full-size tensors, without running it (pipeline/cost-estimate.ts). @throws OptionsError as generate would.
   */
  estimate(options: GenerateOptions): RunCost;
  dispose(): Promise<void>;
}
