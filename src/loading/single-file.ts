/**
 * Reading a one-file LDM/SGM checkpoint (A1111/ComfyUI `.safetensors`) as diffusers' `from_single_file` does
 * (v0.27.2 loaders/single_file_utils.py): the family is told from the text-encoder prefixes (fixtures README
 * §9.3), the configs come from an Architecture (standard data, the bundled model, or `--config DIR`), and every
 * module is bound to the file's tensors through the key maps of ldm-key-map.ts. No tensor data is read.
 */
import { ConfigError, WeightsError } from '../errors.js';
import { bindWeights } from '../graph/module.js';
import { AutoencoderKL } from '../models/autoencoder-kl.js';
import { parseCLIPTextConfig } from '../models/clip-config.js';
import { CLIPTextModel } from '../models/clip-text-model.js';
import { parseUNet2DConditionConfig, type UNet2DConditionConfig } from '../models/unet-config.js';
import { UNet2DConditionModel } from '../models/unet-2d-condition.js';
import { parseAutoencoderKLConfig, type AutoencoderKLConfig } from '../models/vae-config.js';
import type { ComponentWeights } from '../weights/component-weights.js';
import type { SafetensorsHeader } from '../weights/safetensors.js';
import { candidateArchitectures, folderArchitecture, type Architecture, type ArchitectureTextEncoder, type CheckpointLayout } from './architectures.js';
import { mappedComponentWeights, openCheckpointFile, type CheckpointFile, type MappedKey } from './checkpoint-weights.js';
import { CHECKPOINT_PREFIX, ldmUNetKey, ldmVaeKey, openClipKey, unetLayoutOf } from './ldm-key-map.js';

function hasPrefix(header: SafetensorsHeader, prefix: string): boolean {
  for (const k of header.tensors.keys()) if (k.startsWith(prefix)) return true;
  return false;
}

/**
 * The key layout of a checkpoint: `conditioner.embedders.1.model.` SDXL base, `cond_stage_model.model.` SD2.x
 * (OpenCLIP), `cond_stage_model.transformer.` SD1.x (CLIP-L).
 * @throws ConfigError for the SDXL refiner (not supported), a file with no UNet, or no known text encoder.
 */
export function detectCheckpointLayout(header: SafetensorsHeader): CheckpointLayout {
  const f = header.file;
  if (!hasPrefix(header, CHECKPOINT_PREFIX.unet)) {
    throw new ConfigError(`${f}: has no "${CHECKPOINT_PREFIX.unet}*" tensors, so it is not a Stable Diffusion checkpoint (a LoRA or a VAE alone? use --lora / --vae)`);
  }
  if (hasPrefix(header, CHECKPOINT_PREFIX.openClipSdxl)) return 'sdxl';
  if (hasPrefix(header, CHECKPOINT_PREFIX.openClipRefiner)) {
    throw new ConfigError(`${f}: is an SDXL refiner checkpoint (its only text encoder is OpenCLIP bigG under "${CHECKPOINT_PREFIX.openClipRefiner}"); the refiner is an img2img stage and is not supported as a --model`);
  }
  if (hasPrefix(header, CHECKPOINT_PREFIX.openClipSd2)) return 'sd2';
  if (CHECKPOINT_PREFIX.clipL.some((p) => hasPrefix(header, p))) return 'sd1';
  throw new ConfigError(`${f}: has a UNet but no text encoder under a known prefix (${[...CHECKPOINT_PREFIX.clipL, CHECKPOINT_PREFIX.openClipSd2, CHECKPOINT_PREFIX.openClipSdxl].join(', ')})`);
}

/** A text encoder bound to the checkpoint. */
export interface BoundTextEncoder {
  readonly spec: ArchitectureTextEncoder;
  readonly model: CLIPTextModel;
  readonly weights: ComponentWeights & { readonly mapping: ReadonlyMap<string, MappedKey> };
}

/** A checkpoint with every module built from the architecture's configs and bound to the file. */
export interface BoundCheckpoint {
  readonly file: CheckpointFile;
  readonly layout: CheckpointLayout;
  readonly architecture: Architecture;
  readonly unetConfig: UNet2DConditionConfig;
  readonly unet: UNet2DConditionModel;
  readonly unetWeights: ComponentWeights & { readonly mapping: ReadonlyMap<string, MappedKey> };
  readonly vaeConfig: AutoencoderKLConfig;
  readonly vae: AutoencoderKL;
  readonly vaeWeights: ComponentWeights & { readonly mapping: ReadonlyMap<string, MappedKey> };
  readonly textEncoders: readonly BoundTextEncoder[];
}

function keysOf(m: { namedParameters(): Generator<[string, unknown]> }): string[] {
  return [...m.namedParameters()].map(([k]) => k);
}

function textEncoderPrefix(ckpt: CheckpointFile, layout: CheckpointLayout, component: string): { prefix: string; openClip: boolean } {
  if (layout === 'sdxl') return component === 'text_encoder' ? { prefix: CHECKPOINT_PREFIX.clipL[1], openClip: false } : { prefix: CHECKPOINT_PREFIX.openClipSdxl, openClip: true };
  if (layout === 'sd2') return { prefix: CHECKPOINT_PREFIX.openClipSd2, openClip: true };
  return { prefix: CHECKPOINT_PREFIX.clipL.find((p) => hasPrefix(ckpt.header, p)) ?? CHECKPOINT_PREFIX.clipL[0], openClip: false };
}

/** Builds every module from `arch` and binds it to the file; WeightsError names the first key that does not fit. */
export function bindCheckpoint(ckpt: CheckpointFile, layout: CheckpointLayout, arch: Architecture): BoundCheckpoint {
  const where = `${arch.configSource}`;
  const wantEncoders = layout === 'sdxl' ? 2 : 1;
  if (arch.textEncoders.length !== wantEncoders) {
    throw new ConfigError(`${ckpt.file}: is a ${layout.toUpperCase()} checkpoint with ${wantEncoders} text encoder(s), but the configs of ${where} describe ${arch.textEncoders.length}`);
  }
  const unetConfig = parseUNet2DConditionConfig(arch.unet, `${where} (unet)`);
  const lpb = unetConfig.layers_per_block;
  if (!lpb.every((n) => n === lpb[0])) throw new ConfigError(`${where} (unet): layers_per_block differs between levels, which the LDM block numbering cannot express`);
  const unet = new UNet2DConditionModel(unetConfig);
  const layout0 = unetLayoutOf(unetConfig);
  const unetWeights = mappedComponentWeights(ckpt, 'unet', CHECKPOINT_PREFIX.unet, keysOf(unet), (k) => {
    const key = ldmUNetKey(k, layout0);
    return key === undefined ? undefined : { key, transform: { kind: 'copy' } };
  });
  bindWeights(unet, unetWeights);

  const vaeConfig = parseAutoencoderKLConfig(arch.vae, `${where} (vae)`);
  const vae = new AutoencoderKL(vaeConfig);
  const vaeWeights = mappedComponentWeights(ckpt, 'vae', CHECKPOINT_PREFIX.vae, keysOf(vae), (k) => ldmVaeKey(k, vaeConfig.block_out_channels.length));
  bindWeights(vae, vaeWeights);

  const textEncoders = arch.textEncoders.map((spec) => {
    const config = parseCLIPTextConfig(spec.config, `${where} (${spec.role.component})`, { architecture: spec.architecture });
    const model = new CLIPTextModel(config);
    const { prefix, openClip } = textEncoderPrefix(ckpt, layout, spec.role.component);
    const weights = mappedComponentWeights(ckpt, spec.role.component, prefix, keysOf(model), (k) =>
      openClip ? openClipKey(k, config.hidden_size) : { key: k, transform: { kind: 'copy' } });
    bindWeights(model, weights);
    return { spec, model, weights };
  });
  return { file: ckpt, layout, architecture: arch, unetConfig, unet, unetWeights, vaeConfig, vae, vaeWeights, textEncoders };
}

export interface OpenCheckpointOptions {
  /** A diffusers folder whose configs and tokenizers to use instead of the detected family's. */
  readonly config?: string;
  /** Overrides the scheduler's prediction_type ('epsilon' | 'v_prediction'). */
  readonly predictionType?: string;
}

/**
 * Opens a single-file checkpoint: detects its layout, then binds it with `--config`'s configs or, without one,
 * with the first candidate architecture whose shapes fit every tensor.
 * @throws ConfigError / WeightsError with one line naming the file and what does not fit.
 */
export function openCheckpoint(file: string, options: OpenCheckpointOptions = {}): BoundCheckpoint {
  const ckpt = openCheckpointFile(file);
  const layout = detectCheckpointLayout(ckpt.header);
  if (options.config) return bindCheckpoint(ckpt, layout, folderArchitecture(options.config, `the configs of ${options.config}`, options.predictionType));
  const candidates = candidateArchitectures(layout, options.predictionType);
  let first: Error | undefined;
  for (const candidate of candidates) {
    try {
      return bindCheckpoint(ckpt, layout, candidate());
    } catch (e) {
      if (!(e instanceof WeightsError)) throw e;
      first ??= e;
    }
  }
  throw new WeightsError(`${first!.message}; the file's shapes are not those of the standard ${layout.toUpperCase()} architecture, so pass --config with a diffusers folder describing it`);
}
