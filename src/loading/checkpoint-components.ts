/**
 * What Components needs from a single-file checkpoint: a ModelFolder-shaped description (configs from the
 * architecture, paths naming the file), the prompt encoder with its text-encoder sessions, the UNet and the
 * VAE bound to the file's tensors. The text-encoder sessions are opened in sessions.ts, as for folders.
 */
import type { AutoencoderKL } from '../models/autoencoder-kl.js';
import type { CLIPTextModel } from '../models/clip-text-model.js';
import type { AutoencoderKLConfig } from '../models/vae-config.js';
import { CachedPromptEncoder } from '../prompts/prompt-encoder.js';
import type { CLIPTokenizer } from '../tokenizers/clip-tokenizer.js';
import type { ComponentWeights } from '../weights/component-weights.js';
import type { ConfiguredComponent, ModelComponent, ModelFolder } from '../weights/diffusers-folder.js';
import { ConfigError } from '../errors.js';
import type { LoadedUNet } from './component-folder.js';
import { openTextEncoderSessions, type SessionPlace, type TextEncoderToOpen } from './sessions.js';
import { openCheckpoint, type BoundCheckpoint, type OpenCheckpointOptions } from './single-file.js';

/** The parts Components is made of, for a checkpoint file. */
export interface CheckpointParts {
  readonly folder: ModelFolder;
  readonly checkpoint: BoundCheckpoint;
  readonly promptEncoder: CachedPromptEncoder;
  readonly tokenizer: CLIPTokenizer;
  readonly unet: LoadedUNet;
  readonly vaeConfig: AutoencoderKLConfig;
  readonly vae: AutoencoderKL;
  readonly vaeWeights: ComponentWeights;
}

export interface CheckpointLoadOptions extends OpenCheckpointOptions, SessionPlace {
  readonly onWarning?: (message: string) => void;
  /** Called with each text encoder's module tree before its graph is built (LoRA terms). */
  readonly prepareTextEncoder?: (component: string, model: CLIPTextModel) => void;
}

/** The ModelFolder description of a bound checkpoint: `dir` and `configFile` name the file and the config source. */
export function checkpointFolder(b: BoundCheckpoint): ModelFolder {
  const a = b.architecture;
  const file = b.file.file;
  const configured = (name: ConfiguredComponent['name'], library: string, className: string, config: ConfiguredComponent['config']): ConfiguredComponent =>
    ({ name, library, className, dir: file, configFile: `${a.configSource} (${name})`, config });
  const unet = configured('unet', 'diffusers', 'UNet2DConditionModel', a.unet);
  const vae = configured('vae', 'diffusers', 'AutoencoderKL', a.vae);
  const scheduler = configured('scheduler', 'diffusers', String(a.scheduler['_class_name'] ?? 'scheduler'), a.scheduler);
  const textEncoders = a.textEncoders.map((t) => configured(t.role.component as ConfiguredComponent['name'], 'transformers', t.architecture, t.config));
  const tokenizers: ModelComponent[] = a.textEncoders.map((t) => ({ name: t.role.tokenizer as ModelComponent['name'], library: 'transformers', className: 'CLIPTokenizer', dir: a.configSource }));
  const sampleSize = b.unetConfig.sample_size;
  if (typeof sampleSize !== 'number') throw new ConfigError(`${unet.configFile}: "sample_size" must be a positive integer (the native latent size)`);
  const vaeScaleFactor = 2 ** (b.vaeConfig.block_out_channels.length - 1);
  return {
    path: file,
    indexFile: file,
    pipelineClass: a.pipelineClass,
    unet, vae, textEncoders, tokenizers, scheduler,
    components: [unet, vae, ...textEncoders, ...tokenizers, scheduler],
    forceZerosForEmptyPrompt: a.forceZerosForEmptyPrompt,
    nativeLatentSize: sampleSize,
    vaeScaleFactor,
    nativeSize: sampleSize * vaeScaleFactor,
    textEncoderCount: textEncoders.length,
    hasTextTimeEmbedding: a.unet['addition_embed_type'] === 'text_time',
  };
}

/** Opens, detects, binds and builds the text-encoder sessions of a checkpoint file. */
export async function loadCheckpointParts(file: string, options: CheckpointLoadOptions = {}): Promise<CheckpointParts> {
  const b = openCheckpoint(file, options);
  let firstTokenizer: CLIPTokenizer | undefined;
  function* encoders(): Generator<TextEncoderToOpen> {
    for (const te of b.textEncoders) {
      options.prepareTextEncoder?.(te.spec.role.component, te.model);
      const tokenizer = te.spec.tokenizer();
      firstTokenizer ??= tokenizer;
      yield { role: te.spec.role, model: te.model, weightsDir: te.weights.weightsDir, tokenizer, tokenizerSource: b.architecture.configSource };
    }
  }
  const parts = await openTextEncoderSessions(encoders(), options);
  const promptEncoder = new CachedPromptEncoder(parts, {
    forceZerosForEmptyPrompt: b.architecture.forceZerosForEmptyPrompt,
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  return {
    folder: checkpointFolder(b),
    checkpoint: b,
    promptEncoder,
    tokenizer: firstTokenizer!,
    unet: { model: b.unet, weights: b.unetWeights },
    vaeConfig: b.vaeConfig,
    vae: b.vae,
    vaeWeights: b.vaeWeights,
  };
}
