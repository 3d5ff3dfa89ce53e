/**
 * Loads a model once (a diffusers folder, an offline Hugging Face cache repo id or a single-file checkpoint,
 * with LoRAs and a VAE override): prompt encoder (tokenizers + text encoders), UNet (a plain graph, and on
 * demand graphs that also emit the chosen cross-attention maps or carry a method's build options), VAE decoder
 * and encoder, and scheduler config. Data flow: weights/ reads model_index.json and the configs once
 * (openModelFolder) → models/ builds module trees from them → weights/ binds safetensors → sessions.ts opens
 * every onnxruntime session.
 */
import { join } from 'node:path';
import { fusedAttentionAccurate, type Device } from '../engine/providers.js';
import type { ModelSession } from '../engine/session.js';
import type { AutoencoderKL } from '../models/autoencoder-kl.js';
import type { AutoencoderKLConfig } from '../models/vae-config.js';
import { crossAttentionLayers, type CrossAttentionLayer, type UNet2DConditionModel, type UNetGraphOptions } from '../models/unet-2d-condition.js';
import { parseSchedulerConfig, type SchedulerConfig } from '../schedulers/index.js';
import { CLIPTokenizer } from '../tokenizers/clip-tokenizer.js';
import { openModelFolder, type ModelFolder } from '../weights/diffusers-folder.js';
import { resolveModel } from '../weights/hf-cache.js';
import type { ProgressCallback } from '../events.js';
import type { CachedPromptEncoder } from '../prompts/prompt-encoder.js';
import { UNetRunner } from '../sampling/unet-runner.js';
import { OptionsError } from '../errors.js';
import { loadCheckpointParts } from './checkpoint-components.js';
import { unetFromFolder, type LoadedUNet } from './component-folder.js';
import { isCheckpointFile } from './model-path.js';
import { openModelVae, openVaeOverride } from './vae-override.js';
import { LoraSet, type AppliedLora, type LoraSpec } from './lora.js';
import { unetLayoutOf } from './ldm-key-map.js';
import { openUNetSession, openVaeDecoderSession, openVaeEncoderSession, type SessionPlace } from './sessions.js';
import { createPromptEncoder } from './text-encoders.js';
import type { Module } from '../graph/module.js';

export interface ComponentOptions {
  readonly device?: Device;
  readonly threads?: number;
  readonly onProgress?: ProgressCallback;
  /** Prompt-truncation and similar warnings. */
  readonly onWarning?: (message: string) => void;
  /** For a single-file checkpoint: a diffusers folder whose configs and tokenizers to use (`--config`). */
  readonly config?: string;
  /** LoRAs added to the UNet and text encoders (`--lora FILE[:SCALE]`). */
  readonly loras?: readonly LoraSpec[];
  /** A diffusers VAE folder or a single-file VAE replacing the model's (`--vae`); its config is honoured. */
  readonly vae?: string;
  /** Overrides the scheduler's prediction_type (`--prediction-type`). */
  readonly predictionType?: 'epsilon' | 'v_prediction';
}

/** Everything a generation needs from the model folder. */
export class Components {
  private plainUnet: UNetRunner | undefined;
  /** The LoRAs applied (file name, A1111 short hash, scale), in --lora order. */
  loras: readonly AppliedLora[] = [];
  /**
   * The VAE in use (the model's, or `--vae`'s) with its weights folder, for graphs beyond the decoder (e.g. an
   * encoder for img2img): with single files and `--vae` the weights are not in `componentDir('vae')`.
   */
  vae!: { readonly model: AutoencoderKL; readonly weightsDir: string };
  private vaeEncoderSession: ModelSession | undefined;

  private constructor(
    readonly folder: ModelFolder,
    readonly promptEncoder: CachedPromptEncoder,
    /** The first tokenizer: its BPE pieces are AccDiffusion's "words". */
    readonly tokenizer: CLIPTokenizer,
    private readonly unet: LoadedUNet,
    readonly vaeConfig: AutoencoderKLConfig,
    readonly vaeDecoder: ModelSession,
    readonly schedulerConfig: SchedulerConfig,
    private readonly options: ComponentOptions,
  ) {}

  /** Opens a model folder (or an offline Hugging Face cache repo id) and loads every component. */
  static async load(modelSpec: string, options: ComponentOptions = {}): Promise<Components> {
    const session = { ...(options.device ? { device: options.device } : {}), ...(options.threads ? { threads: options.threads } : {}) };
    const emit = options.onProgress ?? (() => {});
    if (isCheckpointFile(modelSpec)) return Components.loadCheckpoint(modelSpec, options, session);
    if (options.config !== undefined) throw new OptionsError(`--config applies to single-file checkpoints; ${modelSpec} is a model folder, which has its own configs`);
    const folder = openModelFolder(resolveModel(modelSpec));
    const loras = new LoraSet(options.loras ?? []);

    emit({ type: 'load', component: 'text_encoder', done: false });
    const promptEncoder = await createPromptEncoder(folder, {
      ...session,
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      ...(loras.size ? { prepareTextEncoder: (c: string, m: Module) => loras.apply(c, m) } : {}),
    });
    const tokenizer = CLIPTokenizer.fromFolder(folder.tokenizers[0]!.dir);
    emit({ type: 'load', component: 'text_encoder', done: true });

    emit({ type: 'load', component: 'unet', done: false });
    const unet = unetFromFolder(folder.unet);
    const applied = await Components.finishLoras(loras, unet, promptEncoder, options);
    emit({ type: 'load', component: 'unet', done: true });

    emit({ type: 'load', component: 'vae', done: false });
    const { config: vaeConfig, vae, weights: vaeWeights } = openModelVae(folder.vae, options.vae);
    const vaeDecoder = await openVaeDecoderSession(vae, vaeWeights.weightsDir, session, fusedAttentionAccurate(options.device));
    emit({ type: 'load', component: 'vae', done: true });

    const schedulerJson = options.predictionType ? { ...folder.scheduler.config, prediction_type: options.predictionType } : folder.scheduler.config;
    const schedulerConfig = parseSchedulerConfig(schedulerJson, folder.scheduler.configFile);
    const c = new Components(folder, promptEncoder, tokenizer, unet, vaeConfig, vaeDecoder, schedulerConfig, options);
    c.loras = applied;
    c.vae = { model: vae, weightsDir: vaeWeights.weightsDir };
    return c;
  }

  /** Applies the LoRAs to the UNet, then checks every LoRA matched something (releasing the encoders if not). */
  private static async finishLoras(loras: LoraSet, unet: LoadedUNet, promptEncoder: CachedPromptEncoder, options: ComponentOptions): Promise<readonly AppliedLora[]> {
    if (!loras.size) return [];
    try {
      loras.apply('unet', unet.model, unetLayoutOf(unet.model.config));
      return loras.finish(options.onWarning);
    } catch (e) {
      await promptEncoder.release();
      throw e;
    }
  }

  /** A single-file checkpoint (src/loading/): weights read from the file where they are, configs per its family. */
  private static async loadCheckpoint(file: string, options: ComponentOptions, session: SessionPlace): Promise<Components> {
    const emit = options.onProgress ?? (() => {});
    for (const component of ['text_encoder', 'unet', 'vae'] as const) emit({ type: 'load', component, done: false });
    const loras = new LoraSet(options.loras ?? []);
    const p = await loadCheckpointParts(file, {
      ...(loras.size ? { prepareTextEncoder: (c: string, m: Module) => loras.apply(c, m) } : {}),
      ...session,
      ...(options.config !== undefined ? { config: options.config } : {}),
      ...(options.predictionType ? { predictionType: options.predictionType } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
    const applied = await Components.finishLoras(loras, p.unet, p.promptEncoder, options);
    for (const component of ['text_encoder', 'unet'] as const) emit({ type: 'load', component, done: true });
    const v = options.vae !== undefined ? openVaeOverride(options.vae, p.folder.vae.config, p.folder.vae.configFile) : { config: p.vaeConfig, vae: p.vae, weights: p.vaeWeights };
    const vaeDecoder = await openVaeDecoderSession(v.vae, v.weights.weightsDir, session);
    emit({ type: 'load', component: 'vae', done: true });
    const schedulerConfig = parseSchedulerConfig(p.folder.scheduler.config, p.folder.scheduler.configFile);
    const c = new Components(p.folder, p.promptEncoder, p.tokenizer, p.unet, v.config, vaeDecoder, schedulerConfig, options);
    c.loras = applied;
    c.vae = { model: v.vae, weightsDir: v.weights.weightsDir };
    return c;
  }

  /**
   * The VAE encoder (`sample` [B,3,H,W] in [-1,1] → `mean`, `logvar`, `std` [B,C,H/f,W/f]), opened on first use
   * (only img2img runs need it) and then kept until dispose().
   */
  async vaeEncoder(): Promise<ModelSession> {
    if (!this.vaeEncoderSession) {
      this.vaeEncoderSession = await openVaeEncoderSession(this.vae.model, this.vae.weightsDir, this.options);
    }
    return this.vaeEncoderSession;
  }

  /** Width of encoder_hidden_states (sum of the text encoders' hidden sizes). */
  get embedDim(): number {
    return this.promptEncoder.embedDim;
  }

  /** Every cross-attention layer of the UNet with its resolution. */
  get crossAttentionLayers(): CrossAttentionLayer[] {
    return crossAttentionLayers(this.unet.model);
  }

  private async session(capture: readonly string[], variant: Omit<UNetGraphOptions, 'captureAttn2'> = {}): Promise<UNetRunner> {
    const s = await openUNetSession(this.unet.model, this.unet.weights.weightsDir, { ...variant, captureAttn2: capture.length ? capture : 'none' }, this.options);
    return new UNetRunner(s, this.promptEncoder.seqLen, this.embedDim);
  }

  /** The plain UNet (loaded on first use, then kept). */
  async plainUNet(): Promise<UNetRunner> {
    this.plainUnet ??= await this.session([]);
    return this.plainUnet;
  }

  /**
   * A UNet that also outputs the given attn2 layers' maps. It is a separate session: release it after
   * the native pass so that only one copy of the UNet weights stays in memory.
   */
  async capturingUNet(layers: readonly string[]): Promise<UNetRunner> {
    return this.session(layers);
  }

  /**
   * A UNet built with other graph options (Attn-SF's attention scaling, ScaleCrafter's re-dilatable
   * convs). A separate session like capturingUNet(): release it after use.
   */
  async variantUNet(options: Omit<UNetGraphOptions, 'captureAttn2'>): Promise<UNetRunner> {
    return this.session([], options);
  }

  /** The loaded UNet's module tree (for settings that name its layers). */
  get unetModel(): UNet2DConditionModel {
    return this.unet.model;
  }

  /** Releases every session. */
  async dispose(): Promise<void> {
    await this.plainUnet?.release();
    this.plainUnet = undefined;
    await this.vaeDecoder.release();
    await this.vaeEncoderSession?.release();
    this.vaeEncoderSession = undefined;
    await this.promptEncoder.release();
  }

  /** Path of a component folder. */
  componentDir(name: string): string {
    return join(this.folder.path, name);
  }
}
