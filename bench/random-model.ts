/**
 * A whole SDXL model folder with random weights, for timing full runs at real sizes without downloading
 * SDXL: the layout, scheduler and tokenizers of the fixtures' tiny-sdxl, and every component at
 * stabilityai/stable-diffusion-xl-base-1.0's sizes (UNet 2.6 G parameters, CLIP ViT-L text encoder, OpenCLIP
 * bigG text encoder with projection, the SDXL VAE). The token-embedding tables keep the tiny tokenizer's
 * vocabulary (1000 ids): only a lookup, so the timing does not change.
 *
 * `size: 'tiny'` writes the tiny-sdxl configs instead (random weights), for dry runs of the same code path.
 * The pictures are noise: only the times and the UNet call counts mean anything.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseUNet2DConditionConfig } from '../src/models/unet-config.js';
import { UNet2DConditionModel } from '../src/models/unet-2d-condition.js';
import { parseAutoencoderKLConfig } from '../src/models/vae-config.js';
import { AutoencoderKL } from '../src/models/autoencoder-kl.js';
import { parseCLIPTextConfig } from '../src/models/clip-config.js';
import { CLIPTextModel } from '../src/models/clip-text-model.js';
import { writeRandomWeights, type ParameterShapes, type WeightDtype } from './random-weights.js';
import { SDXL_UNET_CONFIG, repoRoot } from './unet-configs.js';

const TINY_SDXL = join(repoRoot, 'test', 'fixtures', 'models', 'tiny-sdxl');

/** Config overrides that turn each tiny-sdxl component into SDXL base 1.0's size. */
const SDXL_SIZES: Record<string, Record<string, unknown>> = {
  unet: SDXL_UNET_CONFIG,
  vae: { block_out_channels: [128, 256, 512, 512], norm_num_groups: 32, sample_size: 1024 },
  text_encoder: { hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12, projection_dim: 768 },
  text_encoder_2: { hidden_size: 1280, intermediate_size: 5120, num_attention_heads: 20, num_hidden_layers: 32, projection_dim: 1280 },
};

const WEIGHT_FILES: Record<string, string> = {
  unet: 'diffusion_pytorch_model.safetensors',
  vae: 'diffusion_pytorch_model.safetensors',
  text_encoder: 'model.safetensors',
  text_encoder_2: 'model.safetensors',
};

function component(name: string, config: Record<string, unknown>): ParameterShapes {
  const file = `${name}/config.json`;
  if (name === 'unet') return new UNet2DConditionModel(parseUNet2DConditionConfig(config, file));
  if (name === 'vae') return new AutoencoderKL(parseAutoencoderKLConfig(config, file));
  return new CLIPTextModel(parseCLIPTextConfig(config, file));
}

/**
 * Writes the model folder `dir` (created) at `size` with `dtype` weights; returns the parameter count and
 * the seconds the weights took to write.
 */
export async function writeRandomSdxlModel(dir: string, size: 'sdxl' | 'tiny', dtype: WeightDtype): Promise<{ parameters: number; seconds: number }> {
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(TINY_SDXL, 'model_index.json'), join(dir, 'model_index.json'));
  for (const sub of ['scheduler', 'tokenizer', 'tokenizer_2']) cpSync(join(TINY_SDXL, sub), join(dir, sub), { recursive: true });
  let parameters = 0;
  for (const name of Object.keys(WEIGHT_FILES)) {
    const tiny = JSON.parse(readFileSync(join(TINY_SDXL, name, 'config.json'), 'utf8')) as Record<string, unknown>;
    const config = size === 'sdxl' ? { ...tiny, ...SDXL_SIZES[name] } : tiny;
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'config.json'), JSON.stringify(config, null, 2));
    const model = component(name, config);
    parameters += (model as unknown as { parameterCount(): number }).parameterCount();
    await writeRandomWeights(model, join(dir, name, WEIGHT_FILES[name]!), dtype);
  }
  return { parameters, seconds: (performance.now() - t0) / 1000 };
}
