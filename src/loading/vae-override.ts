/**
 * `--vae DIR|FILE`: a VAE that replaces the model's, as diffusers' `AutoencoderKL.from_pretrained(dir)` /
 * `from_single_file(file)` passed as `vae=` to a pipeline. A folder brings its own config.json (scaling_factor,
 * latents_mean/std, force_upcast are then the folder's); a single file (diffusers names, or LDM names with or
 * without `first_stage_model.`, e.g. A1111's VAE files) takes the model's VAE config, since a file has none.
 * Weights stay in the file, as for models.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { bindWeights } from '../graph/module.js';
import { AutoencoderKL, bindVaeWeights } from '../models/autoencoder-kl.js';
import { parseAutoencoderKLConfig, type AutoencoderKLConfig } from '../models/vae-config.js';
import { openComponentWeights, type ComponentWeights } from '../weights/component-weights.js';
import { readJsonObject, type JsonObject } from '../weights/diffusers-folder.js';
import { mappedComponentWeights, openCheckpointFile } from './checkpoint-weights.js';
import { CHECKPOINT_PREFIX, ldmVaeKey } from './ldm-key-map.js';

/** A VAE bound to its weights. */
export interface OpenedVae {
  readonly config: AutoencoderKLConfig;
  readonly vae: AutoencoderKL;
  readonly weights: ComponentWeights;
  /** Where the config came from (for messages and reports). */
  readonly configSource: string;
}

function openVaeFile(file: string, modelVaeConfig: JsonObject, modelConfigSource: string): OpenedVae {
  const ckpt = openCheckpointFile(file);
  const keys = [...ckpt.header.tensors.keys()];
  const config = parseAutoencoderKLConfig(modelVaeConfig, `${modelConfigSource} (vae, used for ${file})`);
  const vae = new AutoencoderKL(config);
  const declared = [...vae.namedParameters()].map(([k]) => k);
  let weights: ComponentWeights;
  if (keys.some((k) => k.startsWith('decoder.up_blocks.'))) {
    weights = mappedComponentWeights(ckpt, 'vae', '', declared, (k) => ({ key: k, transform: { kind: 'copy' } }));
  } else {
    const prefix = keys.some((k) => k.startsWith(CHECKPOINT_PREFIX.vae)) ? CHECKPOINT_PREFIX.vae : '';
    if (!keys.some((k) => k.startsWith(`${prefix}decoder.up.`))) {
      throw new ConfigError(`${file}: holds no VAE decoder (neither diffusers "decoder.up_blocks.*" nor LDM "decoder.up.*" tensors)`);
    }
    weights = mappedComponentWeights(ckpt, 'vae', prefix, declared, (k) => ldmVaeKey(k, config.block_out_channels.length));
  }
  bindWeights(vae, weights);
  return { config, vae, weights, configSource: modelConfigSource };
}

/**
 * Opens `spec` (a diffusers VAE folder or a .safetensors file) as the VAE to use.
 * @throws ConfigError / WeightsError (one line naming the file) when it is missing or does not fit.
 */
export function openVaeOverride(spec: string, modelVaeConfig: JsonObject, modelConfigSource: string): OpenedVae {
  let isDir: boolean;
  try {
    isDir = statSync(spec).isDirectory();
  } catch {
    throw new ConfigError(`--vae: ${spec} does not exist`);
  }
  if (!isDir) return openVaeFile(spec, modelVaeConfig, modelConfigSource);
  const configFile = join(spec, 'config.json');
  const config = parseAutoencoderKLConfig(readJsonObject(configFile), configFile);
  // A VAE of another family (SD's 4-channel ×8 VAE on a model with another latent space or scale) would decode
  // a wrongly sized or meaningless image: refuse it by its shape.
  const model = parseAutoencoderKLConfig(modelVaeConfig, modelConfigSource);
  const factor = (c: typeof config) => 2 ** (c.block_out_channels.length - 1);
  if (config.latent_channels !== model.latent_channels || factor(config) !== factor(model)) {
    throw new ConfigError(`--vae: ${spec} has ${config.latent_channels} latent channels and a ×${factor(config)} decoder, the model's VAE ${model.latent_channels} and ×${factor(model)}: it belongs to another model family`);
  }
  const vae = new AutoencoderKL(config);
  const weights = openComponentWeights(spec);
  bindVaeWeights(vae, weights);
  return { config, vae, weights, configSource: configFile };
}

/** The model folder's own VAE, or the `--vae` override when one is given. */
export function openModelVae(folderVae: { readonly dir: string; readonly config: JsonObject; readonly configFile: string }, override?: string): OpenedVae {
  if (override !== undefined) return openVaeOverride(override, folderVae.config, folderVae.configFile);
  const config = parseAutoencoderKLConfig(folderVae.config, folderVae.configFile);
  const vae = new AutoencoderKL(config);
  const weights = openComponentWeights(folderVae.dir);
  bindVaeWeights(vae, weights);
  return { config, vae, weights, configSource: folderVae.configFile };
}
