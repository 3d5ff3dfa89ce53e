/**
 * The description of a diffusers model folder: model_index.json (diffusers `DiffusionPipeline.from_pretrained`,
 * pipelines/pipeline_utils.py, and `ConfigMixin`, configuration_utils.py) and each component's config.json /
 * scheduler_config.json, read as unvalidated JSON objects. Each model's own parser validates its fields; this file
 * only checks the layout and derives the few facts every family shares (latent and pixel size, VAE factor, number
 * of text encoders, whether the UNet takes SDXL's text_time conditioning). No weights are read here.
 */
import { readTextFile } from './read-text-file.js';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, describeValue, jsonErrorText } from '../errors.js';
import { parsePythonJson } from './python-json.js';
import { brokenLinkCause, downloadCause, interruptedDownloadNote, truncatedJsonCause } from './file-diagnosis.js';

/** Pipeline classes whose folders this library can run (img2img folders hold the same components). */
export const PIPELINE_CLASSES = [
  'StableDiffusionPipeline',
  'StableDiffusionImg2ImgPipeline',
  'StableDiffusionXLPipeline',
  'StableDiffusionXLImg2ImgPipeline',
] as const;
export type PipelineClass = (typeof PIPELINE_CLASSES)[number];

/** The components the library uses, in model_index.json's naming. */
export const COMPONENT_NAMES = ['unet', 'vae', 'text_encoder', 'text_encoder_2', 'tokenizer', 'tokenizer_2', 'scheduler'] as const;
export type ComponentName = (typeof COMPONENT_NAMES)[number];

const REQUIRED: readonly ComponentName[] = ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'];

/** The file holding a component's config; tokenizers are read whole by the tokenizer from their folder. */
const CONFIG_FILE: Partial<Record<ComponentName, string>> = {
  unet: 'config.json',
  vae: 'config.json',
  text_encoder: 'config.json',
  text_encoder_2: 'config.json',
  scheduler: 'scheduler_config.json',
};

export type JsonObject = Readonly<Record<string, unknown>>;

/** One component of the folder, as model_index.json names it. */
export interface ModelComponent {
  readonly name: ComponentName;
  /** The Python library of the class, e.g. "diffusers" or "transformers". */
  readonly library: string;
  /** The class model_index.json names, e.g. "UNet2DConditionModel"; diffusers instantiates exactly this class. */
  readonly className: string;
  /** The component's folder. */
  readonly dir: string;
}

/** A component with a config file (every component but the tokenizers). */
export interface ConfiguredComponent extends ModelComponent {
  /** The config file that was read (for messages). */
  readonly configFile: string;
  /** Its content, a JSON object whose fields the component's own parser validates. */
  readonly config: JsonObject;
}

export interface ModelFolder {
  /** The folder (absolute path). */
  readonly path: string;
  readonly indexFile: string;
  readonly pipelineClass: PipelineClass;
  /** `_diffusers_version` of model_index.json, when present. */
  readonly diffusersVersion?: string;
  readonly unet: ConfiguredComponent;
  readonly vae: ConfiguredComponent;
  /** text_encoder, then text_encoder_2 when the folder has one. */
  readonly textEncoders: readonly ConfiguredComponent[];
  /** tokenizer, then tokenizer_2 when the folder has one (paired with textEncoders by index). */
  readonly tokenizers: readonly ModelComponent[];
  readonly scheduler: ConfiguredComponent;
  /** Every present component, in COMPONENT_NAMES order. */
  readonly components: readonly ModelComponent[];
  /**
   * With no negative prompt, use zero embeddings instead of encoding "" (SDXL pipelines; their default is true).
   * The SD pipelines have no such option and always encode "", so this is false for them.
   */
  readonly forceZerosForEmptyPrompt: boolean;
  /** UNet `sample_size`: the latent side the model was trained at. */
  readonly nativeLatentSize: number;
  /** 2^(len(vae block_out_channels) - 1), as the diffusers pipelines compute it. */
  readonly vaeScaleFactor: number;
  /** nativeLatentSize × vaeScaleFactor, in pixels. */
  readonly nativeSize: number;
  /** 1 or 2. */
  readonly textEncoderCount: number;
  /** The UNet config has `addition_embed_type: "text_time"` (it needs text_embeds and time_ids inputs). */
  readonly hasTextTimeEmbedding: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a JSON file that must hold an object; every failure names the file. */
export function readJsonObject(file: string): JsonObject {
  // a broken download (LFS pointer, HTML page, empty file, broken cache link) is named as such
  const cause = downloadCause(file);
  if (cause) throw new ConfigError(`${file}: ${cause}`);
  let text: string;
  try {
    text = readTextFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? `${file}: file is missing${interruptedDownloadNote(file)}` : `${file}: cannot read (${code ?? String(e)})`);
  }
  let parsed: unknown;
  try {
    parsed = parsePythonJson(text);
  } catch (e) {
    throw new ConfigError(`${file}: ${truncatedJsonCause(text, e) ?? `not valid JSON (${jsonErrorText(e)})`}`);
  }
  if (!isObject(parsed)) throw new ConfigError(`${file}: must hold a JSON object, found ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
  return parsed;
}

/** A model_index.json entry: ["library", "Class"], or [null, null] for an absent component. */
function parseEntry(indexFile: string, key: string, value: unknown): { library: string; className: string } | null {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new ConfigError(`${indexFile}: "${key}" must be ["library", "ClassName"] or [null, null], found ${describeValue(value)}`);
  }
  const [library, className] = value as unknown[];
  if (library === null && className === null) return null;
  if (typeof library !== 'string' || typeof className !== 'string' || library === '' || className === '') {
    throw new ConfigError(`${indexFile}: "${key}" must be ["library", "ClassName"] or [null, null], found ${describeValue(value)}`);
  }
  return { library, className };
}

function positiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** The checked path of model_index.json of a folder (every failure names the folder or the file). */
function indexFileOf(path: string): string {
  if (!existsSync(path)) throw new ConfigError(`${path}: model folder does not exist`);
  if (!statSync(path).isDirectory()) throw new ConfigError(`${path}: is a file; a model folder (holding model_index.json) is expected`);
  const indexFile = join(path, 'model_index.json');
  const indexLink = brokenLinkCause(indexFile);
  if (indexLink) throw new ConfigError(`${indexFile}: ${indexLink}`);
  if (!existsSync(indexFile)) {
    const note = interruptedDownloadNote(indexFile);
    throw new ConfigError(note ? `${path}: has no model_index.json${note}` : `${path}: has no model_index.json, so it is not a diffusers model folder (pass such a folder, or a single-file .safetensors checkpoint as --model)`);
  }
  return indexFile;
}

/** The pipeline class and the named components of model_index.json, with the required ones checked. */
function parseIndex(index: JsonObject, indexFile: string): { pipelineClass: PipelineClass; named: Map<ComponentName, { library: string; className: string }> } {
  const className = index['_class_name'];
  if (typeof className !== 'string') throw new ConfigError(`${indexFile}: "_class_name" is missing or not a string`);
  if (!(PIPELINE_CLASSES as readonly string[]).includes(className)) {
    throw new ConfigError(`${indexFile}: pipeline class "${className}" is not supported; supported: ${PIPELINE_CLASSES.join(', ')}`);
  }
  const named = new Map<ComponentName, { library: string; className: string }>();
  for (const name of COMPONENT_NAMES) {
    if (!(name in index)) continue;
    const entry = parseEntry(indexFile, name, index[name]);
    if (entry) named.set(name, entry);
  }
  for (const name of REQUIRED) {
    if (named.has(name)) continue;
    const why = name in index ? 'is [null, null]' : 'is missing';
    const hint = name === 'text_encoder' && named.has('text_encoder_2') ? ' (refiner-style folders with only text_encoder_2 are not supported)' : '';
    throw new ConfigError(`${indexFile}: required component "${name}" ${why}${hint}`);
  }
  for (const [a, b] of [['text_encoder_2', 'tokenizer_2'], ['tokenizer_2', 'text_encoder_2']] as const) {
    if (named.has(a) && !named.has(b)) throw new ConfigError(`${indexFile}: names "${a}" but not "${b}"; the two come as a pair`);
  }
  return { pipelineClass: className as PipelineClass, named };
}

/** Each named component's folder, and its config where it has one (read here, once). */
function readComponents(path: string, named: ReadonlyMap<ComponentName, { library: string; className: string }>): Map<ComponentName, ModelComponent | ConfiguredComponent> {
  const components = new Map<ComponentName, ModelComponent | ConfiguredComponent>();
  for (const name of COMPONENT_NAMES) {
    const entry = named.get(name);
    if (!entry) continue;
    const componentDir = join(path, name);
    if (!existsSync(componentDir) || !statSync(componentDir).isDirectory()) {
      throw new ConfigError(`${path}: component "${name}" (${entry.className}) is named in model_index.json but its folder ${componentDir} is missing`);
    }
    const base: ModelComponent = { name, library: entry.library, className: entry.className, dir: componentDir };
    const configName = CONFIG_FILE[name];
    if (configName) {
      const configFile = join(componentDir, configName);
      const link = brokenLinkCause(configFile);
      if (link) throw new ConfigError(`${configFile}: ${link}`);
      if (!existsSync(configFile)) throw new ConfigError(`${path}: component "${name}" has no ${configName} (${configFile})${interruptedDownloadNote(configFile)}`);
      components.set(name, { ...base, configFile, config: readJsonObject(configFile) });
    } else {
      components.set(name, base);
    }
  }
  return components;
}

/** The UNet's native latent size and the VAE's scale factor, from their configs. */
function latentGeometry(unet: ConfiguredComponent, vae: ConfiguredComponent): { nativeLatentSize: number; vaeScaleFactor: number } {
  // diffusers' UNet2DConditionModel also accepts [height, width]; the pipelines only handle square latents.
  let sampleSize = unet.config['sample_size'];
  if (Array.isArray(sampleSize) && sampleSize.length === 2 && sampleSize[0] === sampleSize[1]) sampleSize = sampleSize[0];
  if (!positiveInteger(sampleSize)) {
    throw new ConfigError(`${unet.configFile}: "sample_size" must be a positive integer (the native latent size), found ${describeValue(sampleSize)}`);
  }
  // AutoencoderKL's default block_out_channels is (64,), i.e. no downsampling.
  const blockOut = vae.config['block_out_channels'] ?? [64];
  if (!Array.isArray(blockOut) || blockOut.length === 0 || !blockOut.every(positiveInteger)) {
    throw new ConfigError(`${vae.configFile}: "block_out_channels" must be a non-empty list of positive integers, found ${describeValue(blockOut)}`);
  }
  return { nativeLatentSize: sampleSize, vaeScaleFactor: 2 ** (blockOut.length - 1) };
}

/** Opens a diffusers model folder: validates model_index.json and the component folders, reads the configs. */
export function openModelFolder(dir: string): ModelFolder {
  const path = resolve(dir);
  const indexFile = indexFileOf(path);
  const index = readJsonObject(indexFile);
  const { pipelineClass, named } = parseIndex(index, indexFile);
  const components = readComponents(path, named);
  const configured = (name: ComponentName) => components.get(name) as ConfiguredComponent;
  const unet = configured('unet');
  const vae = configured('vae');
  const textEncoders = (['text_encoder', 'text_encoder_2'] as const).filter((n) => components.has(n)).map(configured);
  const tokenizers = (['tokenizer', 'tokenizer_2'] as const).filter((n) => components.has(n)).map((n) => components.get(n)!);
  const { nativeLatentSize, vaeScaleFactor } = latentGeometry(unet, vae);

  let forceZerosForEmptyPrompt = false;
  if (pipelineClass.startsWith('StableDiffusionXL')) {
    const v = index['force_zeros_for_empty_prompt'] ?? true;
    if (typeof v !== 'boolean') throw new ConfigError(`${indexFile}: "force_zeros_for_empty_prompt" must be true or false, found ${describeValue(v)}`);
    forceZerosForEmptyPrompt = v;
  }
  const version = index['_diffusers_version'];

  return {
    path,
    indexFile,
    pipelineClass,
    ...(typeof version === 'string' ? { diffusersVersion: version } : {}),
    unet,
    vae,
    textEncoders,
    tokenizers,
    scheduler: configured('scheduler'),
    components: [...components.values()],
    forceZerosForEmptyPrompt,
    nativeLatentSize,
    vaeScaleFactor,
    nativeSize: nativeLatentSize * vaeScaleFactor,
    textEncoderCount: textEncoders.length,
    hasTextTimeEmbedding: unet.config['addition_embed_type'] === 'text_time',
  };
}
