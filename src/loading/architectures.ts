/**
 * Architectures a single-file checkpoint can be read as: the standard SD1.x / SD2.x / SDXL-base configs the
 * package ships as data (data/architectures/*.json, from diffusers v0.27.2's single-file conversion of the
 * original yaml files, MODEL-FILES-README §9.4), the bundled model's folder, or a diffusers folder named by
 * `--config`. Each gives the configs and tokenizers; the weights always come from the checkpoint.
 */
import { join } from 'node:path';
import { packageRoot, defaultModelPath } from './package-root.js';
import { ConfigError } from '../errors.js';
import type { TextEncoderRole } from '../prompts/prompt-encoder.js';
import { CLIPTokenizer } from '../tokenizers/clip-tokenizer.js';
import type { ClipPadding } from '../tokenizers/clip-vocabulary.js';
import { openModelFolder, readJsonObject, type JsonObject, type PipelineClass } from '../weights/diffusers-folder.js';
import { standardClipTokenizer } from './standard-tokenizers.js';

/** The one-file key layouts, told apart by their text-encoder prefixes. */
export type CheckpointLayout = 'sd1' | 'sd2' | 'sdxl';

/** One text encoder of an architecture. */
export interface ArchitectureTextEncoder {
  readonly role: TextEncoderRole;
  /** CLIPTextModel or CLIPTextModelWithProjection. */
  readonly architecture: string;
  readonly config: JsonObject;
  readonly tokenizer: () => CLIPTokenizer;
}

/** Configs and tokenizers for reading a checkpoint. */
export interface Architecture {
  /** For messages and `info`, e.g. "SDXL (standard configs shipped with the package)". */
  readonly name: string;
  /** Where the configs were read from (a data file or a folder). */
  readonly configSource: string;
  readonly pipelineClass: PipelineClass;
  readonly forceZerosForEmptyPrompt: boolean;
  readonly unet: JsonObject;
  readonly vae: JsonObject;
  readonly scheduler: JsonObject;
  readonly textEncoders: readonly ArchitectureTextEncoder[];
}

const ROLES: Record<'sd' | 'sdxl', Record<string, TextEncoderRole>> = {
  sd: { text_encoder: { component: 'text_encoder', tokenizer: 'tokenizer', hiddenState: 'last_hidden_state' } },
  sdxl: {
    text_encoder: { component: 'text_encoder', tokenizer: 'tokenizer', hiddenState: 'penultimate_hidden_state' },
    text_encoder_2: { component: 'text_encoder_2', tokenizer: 'tokenizer_2', hiddenState: 'penultimate_hidden_state', pooled: 'text_embeds' },
  },
};

function roleOf(pipelineClass: string, component: string, where: string): TextEncoderRole {
  const role = ROLES[pipelineClass.startsWith('StableDiffusionXL') ? 'sdxl' : 'sd'][component];
  if (!role) throw new ConfigError(`${where}: ${pipelineClass} has no text encoder "${component}"`);
  return role;
}

/**
 * The standard configs of a family. `predictionType` overrides the scheduler's; SD2 with `epsilon` is
 * SD2-base, whose native size is 512 px (sample_size 64) instead of 768-v's 768.
 */
export function standardArchitecture(layout: CheckpointLayout, predictionType?: string): Architecture {
  const file = join(packageRoot(), 'data', 'architectures', `${layout}.json`);
  const data = readJsonObject(file) as {
    family: string; pipeline_class: PipelineClass; force_zeros_for_empty_prompt: boolean; unet: JsonObject; vae: JsonObject; scheduler: JsonObject;
    text_encoders: Array<{ component: string; config: JsonObject & { architectures: string[] }; padding: ClipPadding }>;
  };
  let unet = data.unet;
  let scheduler = data.scheduler;
  if (predictionType) {
    scheduler = { ...scheduler, prediction_type: predictionType };
    if (layout === 'sd2' && predictionType === 'epsilon') unet = { ...unet, sample_size: 64 };
  }
  return {
    name: `${data.family} (standard configs shipped with the package)`,
    configSource: file,
    pipelineClass: data.pipeline_class,
    forceZerosForEmptyPrompt: data.force_zeros_for_empty_prompt,
    unet,
    vae: data.vae,
    scheduler,
    textEncoders: data.text_encoders.map((t) => ({
      role: roleOf(data.pipeline_class, t.component, file),
      architecture: t.config.architectures[0]!,
      config: t.config,
      tokenizer: () => standardClipTokenizer(t.padding),
    })),
  };
}

/** The configs and tokenizers of a diffusers folder (`--config DIR`, or the bundled model's). */
export function folderArchitecture(dir: string, name: string, predictionType?: string): Architecture {
  const folder = openModelFolder(dir);
  return {
    name,
    configSource: folder.path,
    pipelineClass: folder.pipelineClass,
    forceZerosForEmptyPrompt: folder.forceZerosForEmptyPrompt,
    unet: folder.unet.config,
    vae: folder.vae.config,
    scheduler: predictionType ? { ...folder.scheduler.config, prediction_type: predictionType } : folder.scheduler.config,
    textEncoders: folder.textEncoders.map((te, i) => ({
      role: roleOf(folder.pipelineClass, te.name, folder.indexFile),
      architecture: te.className,
      config: te.config,
      tokenizer: () => CLIPTokenizer.fromFolder(folder.tokenizers[i]!.dir),
    })),
  };
}

/**
 * The architectures tried (built on demand) for a layout with no `--config`, in order: the standard family, then the bundled
 * model when it has that layout (so a one-file copy of it loads without a config).
 */
export function candidateArchitectures(layout: CheckpointLayout, predictionType?: string): Array<() => Architecture> {
  const list = [() => standardArchitecture(layout, predictionType)];
  // Opened only when the standard shapes do not fit (a package without its models/ folder still reads real SDXL files).
  if (layout === 'sdxl') list.push(() => folderArchitecture(defaultModelPath(), 'the bundled model (models/shapes-xl)', predictionType));
  return list;
}
