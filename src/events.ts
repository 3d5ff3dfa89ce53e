/**
 * Typed progress events: the pipeline emits them through an `onProgress` callback and never prints;
 * the CLI renders them as progress bars or JSON lines (transformers.js ProgressInfo, sd.cpp sd_progress_cb_t).
 */

/** Which part of a step a window batch belongs to. */
export type Branch = 'base' | 'patch' | 'dilated';

export type ProgressEvent =
  /** A model component is being loaded (graph built, session created). */
  | { readonly type: 'load'; readonly component: string; readonly done: boolean }
  /** A stage begins: stage 1 is the native-size pass, later stages upscale. */
  | { readonly type: 'stage-start'; readonly stage: number; readonly stages: number; readonly width: number; readonly height: number; readonly steps: number }
  /** A batch of windows went through the UNet. */
  | { readonly type: 'window-batch'; readonly stage: number; readonly step: number; readonly branch: Branch; readonly batch: number; readonly batches: number }
  /** A denoising step finished (step counts from 1). */
  | { readonly type: 'step'; readonly stage: number; readonly step: number; readonly steps: number }
  /** VAE decoding of a stage, tile by tile. */
  | { readonly type: 'decode'; readonly stage: number; readonly tile: number; readonly tiles: number }
  /** A stage finished. */
  | { readonly type: 'stage-end'; readonly stage: number; readonly seconds: number }
  /** Something the user should know (e.g. prompt truncated). */
  | { readonly type: 'warning'; readonly message: string };

export type ProgressCallback = (event: ProgressEvent) => void;
