/**
 * Reading one diffusers component folder (`<model>/unet`, `vae`, `text_encoder[_2]`): its config.json and its
 * safetensors weights, for the model definitions in src/models/, which only take parsed JSON and a weight lookup
 * (diffusers `ModelMixin.from_pretrained(dir)`, modeling_utils.py, split into "read" here and "build" there).
 * Loading a whole model folder goes through openModelFolder (weights/diffusers-folder.ts), which has read the
 * configs already: the `…FromFolder` functions take its ConfiguredComponent and read only the weights.
 */
import { join } from 'node:path';
import { ConfigError, jsonErrorText } from '../errors.js';
import { bindWeights } from '../graph/module.js';
import { CLIPTextModel } from '../models/clip-text-model.js';
import { parseCLIPTextConfig, type CLIPTextConfig, type ParseCLIPTextConfigOptions } from '../models/clip-config.js';
import { bindUNetWeights, UNet2DConditionModel } from '../models/unet-2d-condition.js';
import { parseUNet2DConditionConfig, type UNet2DConditionConfig } from '../models/unet-config.js';
import { parseAutoencoderKLConfig, type AutoencoderKLConfig } from '../models/vae-config.js';
import { parseSchedulerConfig, type SchedulerConfig } from '../schedulers/schedule.js';
import { openComponentWeights, type ComponentWeights } from '../weights/component-weights.js';
import type { ConfiguredComponent } from '../weights/diffusers-folder.js';
import { parsePythonJson } from '../weights/python-json.js';
import { readTextFile } from '../weights/read-text-file.js';

/** `<dir>/config.json` as JSON; `unreadable` and `badJson` word the two failures (each model keeps its own message). */
function readConfigJson(dir: string, unreadable: string, badJson: (e: unknown) => string): { file: string; json: unknown } {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = readTextFile(file);
  } catch {
    throw new ConfigError(`${file}: ${unreadable}`);
  }
  try {
    return { file, json: parsePythonJson(text) };
  } catch (e) {
    throw new ConfigError(`${file}: ${badJson(e)}`);
  }
}

/** Reads and parses `<dir>/config.json` of a unet component folder. */
export function readUNetConfig(dir: string): UNet2DConditionConfig {
  const { file, json } = readConfigJson(dir, 'missing (a diffusers unet folder needs config.json)', () => 'not valid JSON');
  return parseUNet2DConditionConfig(json, file);
}

/** Reads and parses `<dir>/config.json` of a text encoder folder. */
export function loadCLIPTextConfig(dir: string, options: ParseCLIPTextConfigOptions = {}): CLIPTextConfig {
  const { file, json } = readConfigJson(dir, 'cannot read the text encoder config', (e) => `not valid JSON (${jsonErrorText(e)})`);
  return parseCLIPTextConfig(json, file, options);
}

/** Reads and parses `<dir>/config.json` of a VAE folder. */
export function loadAutoencoderKLConfig(dir: string): AutoencoderKLConfig {
  const { file, json } = readConfigJson(dir, 'cannot read the VAE config', (e) => `not valid JSON (${jsonErrorText(e)})`);
  return parseAutoencoderKLConfig(json, file);
}

/** Reads and validates `<model>/scheduler/scheduler_config.json` (`file` is the config file itself). */
export function readSchedulerConfig(file: string): SchedulerConfig {
  let text: string;
  try {
    text = readTextFile(file);
  } catch (e) {
    throw new ConfigError(`${file}: cannot read scheduler config (${(e as Error).message})`, { cause: e });
  }
  let json: unknown;
  try {
    json = parsePythonJson(text);
  } catch (e) {
    throw new ConfigError(`${file}: invalid JSON (${jsonErrorText(e)})`, { cause: e });
  }
  return parseSchedulerConfig(json, file);
}

/** A UNet opened for building: module tree with bound weights, and the weights the session reads. */
export interface LoadedUNet {
  readonly model: UNet2DConditionModel;
  readonly weights: ComponentWeights;
}

/** A text encoder read from a component folder, with its weights bound. */
export interface LoadedCLIPTextModel {
  readonly model: CLIPTextModel;
  readonly weights: ComponentWeights;
}

function unetWith(config: UNet2DConditionConfig, dir: string, options: { variant?: string }): LoadedUNet {
  const model = new UNet2DConditionModel(config);
  const weights = openComponentWeights(dir, options);
  bindUNetWeights(model, weights);
  return { model, weights };
}

function clipWith(config: CLIPTextConfig, dir: string, variant: string | undefined): LoadedCLIPTextModel {
  const model = new CLIPTextModel(config);
  const weights = openComponentWeights(dir, variant ? { variant } : {});
  bindWeights(model, weights);
  return { model, weights };
}

/**
 * Reads `<dir>/config.json`, builds the module tree and binds it to the folder's safetensors weights
 * (WeightsError naming the key on a missing/misshapen/unexpected weight).
 */
export function loadUNet(dir: string, options: { variant?: string } = {}): LoadedUNet {
  return unetWith(readUNetConfig(dir), dir, options);
}

/** The UNet of an opened model folder: its already-read config, the folder's weights. */
export function unetFromFolder(unet: ConfiguredComponent, options: { variant?: string } = {}): LoadedUNet {
  return unetWith(parseUNet2DConditionConfig(unet.config, unet.configFile), unet.dir, options);
}

/** Like loadUNet, for a text encoder folder (CLIPTextModel or CLIPTextModelWithProjection per its config). */
export function loadCLIPTextModel(dir: string, options: ParseCLIPTextConfigOptions & { variant?: string } = {}): LoadedCLIPTextModel {
  return clipWith(loadCLIPTextConfig(dir, options), dir, options.variant);
}

/**
 * A text encoder of an opened model folder. model_index.json names the class diffusers instantiates
 * (`component.className`); it decides the projection over config.json's `architectures`.
 */
export function textEncoderFromFolder(component: ConfiguredComponent, options: { variant?: string } = {}): LoadedCLIPTextModel {
  const config = parseCLIPTextConfig(component.config, component.configFile, { architecture: component.className });
  return clipWith(config, component.dir, options.variant);
}
