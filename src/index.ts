/**
 * accdiffusion: high-resolution image generation from diffusers Stable Diffusion / SDXL model folders
 * (AccDiffusion, DemoFusion, MultiDiffusion, direct, Attn-SF, ScaleCrafter) on onnxruntime-node.
 *
 * Load once with `loadPipeline(folder)`, then `generate(options, { onProgress, signal })` many times.
 */
export { loadPipeline } from './pipeline/pipeline.js';
export type { Pipeline, LoadOptions, RunContext, RunHooks, PipelineModelInfo } from './pipeline/pipeline-api.js';
export { describeModel, guessFamily, formatModelInfo, type ModelInfo, type ModelFamily, type ComponentInfo, type ComponentWeightsInfo } from './loading/model-info.js';
export { countUNetWork, type RunCost, type StageWork, type UNetWorkPlan } from './pipeline/cost-estimate.js';
export type { RandomStreams } from './sampling/random-streams.js';
export { METHODS, SCHEDULERS, REFERENCE_NEGATIVE_PROMPT, type GenerateOptions, type Method, type SchedulerName } from './options/index.js';
export type { ProgressEvent, ProgressCallback, Branch } from './events.js';
export type { GenerateResult, StageResult, TokenMask, GenerationReport, RgbImage, Window } from './pipeline/result.js';
export { readInputImage, INPUT_BACKGROUND, type InputImage } from './sampling/input-image.js';
export { checkWindowPromptsShape, type WindowPrompts, type WindowPromptsReview } from './patch/window-prompts.js';
export type { Device } from './engine/providers.js';
export { availableDevices } from './engine/providers.js';
export { collectRunBuffersWith, RUN_BUFFER_BUDGET_BYTES } from './engine/transient-memory.js';
export type { Tensor } from './tensor/tensor.js';
/** Seeds 0..2^64 − 1 (numbers up to 2^53 − 1, bigints above); bigintAsString writes reports holding them as JSON. */
export { MAX_SEED, bigintAsString, type Seed } from './tensor/seed.js';
export {
  AccDiffusionError, ConfigError, WeightsError, TokenizerError, OptionsError, ProviderError, NumericsError, AbortedError,
} from './errors.js';
