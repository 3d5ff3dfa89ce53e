/**
 * The prompt encoder of a model: tokenizers and text encoders as the folder's model_index.json describes them
 * (diffusers `encode_prompt`'s components), each encoder's session opened in sessions.ts. The recipe comes from
 * the folder description openModelFolder parsed once (src/prompts/prompt-encoder.ts `folderRecipe`).
 */
import { join } from 'node:path';
import type { CLIPTextModel } from '../models/clip-text-model.js';
import { CachedPromptEncoder, folderRecipe, type PromptEncoderOptions } from '../prompts/prompt-encoder.js';
import { CLIPTokenizer } from '../tokenizers/clip-tokenizer.js';
import { openModelFolder, type ConfiguredComponent, type ModelFolder } from '../weights/diffusers-folder.js';
import { textEncoderFromFolder } from './component-folder.js';
import { openTextEncoderSessions, type SessionPlace, type TextEncoderToOpen } from './sessions.js';

export interface CreatePromptEncoderOptions extends Omit<PromptEncoderOptions, 'forceZerosForEmptyPrompt'>, SessionPlace {
  /** Weight file variant, e.g. "fp16". */
  readonly variant?: string;
  /** Called with each text encoder's module tree before its graph is built (LoRA terms, src/loading/lora.ts). */
  readonly prepareTextEncoder?: (component: string, model: CLIPTextModel) => void;
}

/**
 * Loads the tokenizers and text encoders of a model folder (an opened description, or a path to open), builds
 * graphs emitting only the outputs the recipe uses, and opens their sessions.
 * @throws ConfigError for a folder that is not a runnable diffusers folder, WeightsError for unbindable weights.
 */
export async function createPromptEncoder(folder: ModelFolder | string, options: CreatePromptEncoderOptions = {}): Promise<CachedPromptEncoder> {
  const f = typeof folder === 'string' ? openModelFolder(folder) : folder;
  const recipe = folderRecipe(f);
  function* encoders(): Generator<TextEncoderToOpen> {
    for (const role of recipe.encoders) {
      const tokenizerDir = join(f.path, role.tokenizer);
      const tokenizer = CLIPTokenizer.fromFolder(tokenizerDir);
      const component = f.textEncoders.find((c) => c.name === role.component) as ConfiguredComponent;
      const { model, weights } = textEncoderFromFolder(component, options.variant ? { variant: options.variant } : {});
      options.prepareTextEncoder?.(role.component, model);
      yield { role, model, weightsDir: weights.weightsDir, tokenizer, tokenizerSource: tokenizerDir };
    }
  }
  const parts = await openTextEncoderSessions(encoders(), options);
  return new CachedPromptEncoder(parts, { ...options, forceZerosForEmptyPrompt: recipe.forceZerosForEmptyPrompt });
}
