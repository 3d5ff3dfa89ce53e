/**
 * resolveOptions: GenerateOptions → ResolvedOptions, every default filled in and every value checked,
 * row by row through the option table (option-table.ts, check-option.ts). The one validation of the
 * generation options: the CLI converts its strings with the same checks, the page calls this.
 */
import { OptionsError } from '../errors.js';
import { checkWindowPromptsShape } from '../patch/window-prompts.js';
import { checkBoolean, checkChoice, checkMultiple, checkNumber, checkSeed, checkText } from './check-option.js';
import type { GenerateOptions, Method, ResolvedOptions } from './generate-options.js';
import type { DefaultContext } from './option-spec.js';
import { OPTION_KEYS, OPTION_TABLE, type OptionKey } from './option-table.js';

function check(cond: boolean, message: string): void {
  if (!cond) throw new OptionsError(message);
}

/** One row: the given value or the row's default, checked. `undefined` stays for rows without a default. */
function resolveOne(key: OptionKey, given: unknown, ctx: DefaultContext): unknown {
  const spec = OPTION_TABLE[key];
  const d = spec.default;
  const value = given !== undefined ? given : typeof d === 'function' ? d(ctx) : d;
  const naming = { name: key, audience: 'library' } as const;
  switch (spec.kind) {
    case 'integer':
    case 'number': {
      const x = checkNumber(spec, value, naming, ctx.nativeLatent);
      checkMultiple(spec, x, naming);
      return x;
    }
    case 'choice':
      return value === undefined ? undefined : checkChoice(spec, value, naming);
    case 'seed':
      return checkSeed(value, naming);
    case 'boolean':
      return checkBoolean(value, naming);
    case 'text':
      return checkText(spec, value, naming);
    case 'windowPrompts':
      return value === undefined ? undefined : checkWindowPromptsShape(value, 'windowPrompts');
    default:
      return value; // tensor, image: the caller's objects, checked where they are used
  }
}

/**
 * Upscaling an image with accdiffusion needs a prompt: its window prompts are made of the prompt's words, and
 * without words there is nothing to place. The CLI asks this before loading the model; resolveOptions again.
 * @throws OptionsError
 */
export function checkUpscalePrompt(method: Method, prompt: string): void {
  check(!(method === 'accdiffusion' && prompt.trim() === ''), 'upscale with accdiffusion needs --prompt (its window prompts are made of the prompt\'s words); or use --method demofusion');
}

/** Rules between options (the rows check one value each). */
function checkCombinations(o: GenerateOptions, method: Method): void {
  if (o.image) checkUpscalePrompt(method, o.prompt);
  if (o.windowPrompts !== undefined) check(method === 'accdiffusion' && o.patchPrompts !== false, 'windowPrompts need method accdiffusion with patch prompts on');
}

/**
 * Fills defaults and validates; throws OptionsError (one line naming the option) for the first bad value.
 * `nativeLatent` is the model's native latent size in cells (UNet sample_size): stride's default and upper bound.
 * The result's keys are in table order, which is the order of a report's `options`.
 */
export function resolveOptions(o: GenerateOptions, nativeLatent: number): ResolvedOptions {
  const method = resolveOne('method', o.method, { method: 'accdiffusion', nativeLatent }) as Method;
  const ctx: DefaultContext = { method, nativeLatent };
  const given = o as unknown as Readonly<Record<OptionKey, unknown>>;
  const out: Record<string, unknown> = {};
  for (const key of OPTION_KEYS) {
    if (key === 'image') continue; // img2img input: used by the pipeline from GenerateOptions, not reported
    const value = resolveOne(key, given[key], ctx);
    if (key === 'windowPrompts' && value === undefined) continue;
    out[key] = value;
  }
  checkCombinations(o, method);
  return out as unknown as ResolvedOptions;
}
