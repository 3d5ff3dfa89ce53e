/**
 * The command line's strings → the library's option values, row by row through the option table
 * (src/options/option-table.ts): a number flag is parsed here and checked by the same check resolveOptions
 * uses (src/options/check-option.ts), so a bad value fails before any model is loaded, with one line that
 * names the flag and the typed string. Model-dependent bounds (stride ≤ native latent) are left to
 * resolveOptions, which knows the model.
 */
import type { Command } from 'commander';
import { checkChoice, checkNumber, checkSeed, type Naming } from '../options/check-option.js';
import type { GenerateOptions, Method } from '../options/generate-options.js';
import { methodsUsing } from '../methods/index.js';
import { OPTION_TABLE, tableDefault, type OptionKey } from '../options/option-table.js';
import { inputFile } from './arg-values.js';
import type { RawGenerateOptions } from './flags.js';
import { SHARED_OPTION_KEYS } from './generation-flags.js';
import { readWindowPromptsFile } from './window-prompts-file.js';

/**
 * The rows `generate` converts with libraryValue and hands on as they are: its flags' rows but the size
 * (width, height: see target-size.ts) and the files main.ts reads (init latents).
 */
export const GENERATE_OPTION_KEYS: readonly OptionKey[] = SHARED_OPTION_KEYS.filter((k) => k !== 'width' && k !== 'height' && !OPTION_TABLE[k].cli?.file);

/** `upscale`'s: generate's and its own (the image is read by main.ts). */
export const UPSCALE_OPTION_KEYS: readonly OptionKey[] = [...GENERATE_OPTION_KEYS, 'inputResidual', 'strength'];

/** A flag's name in messages: `--view-batch-size` of `--view-batch-size <n>`. */
export function flagName(key: OptionKey): string {
  return OPTION_TABLE[key].cli?.flag.split(' ')[0] ?? key;
}

/** How the CLI names a flag and its typed string in a message. */
export function cliNaming(key: OptionKey, raw: string): Naming {
  const hint = OPTION_TABLE[key].cli?.hint;
  return { name: flagName(key), shown: `"${raw}"`, audience: 'cli', ...(hint !== undefined ? { hint } : {}) };
}

/** A number flag's value (NaN for text that is not a number, which the check then refuses). */
export function cliNumber(key: OptionKey, raw: string): number {
  const s = raw.trim();
  return checkNumber(OPTION_TABLE[key], s === '' ? NaN : Number(s), cliNaming(key, raw));
}

/**
 * One row's value from commander's raw value. Switches: a `--no-x` switch counts only when typed (commander
 * gives it a default of true), so the library's method-dependent default applies otherwise; a plain switch is
 * true or false. The seed gets its default here, as the output file is named after it.
 */
function libraryValue(key: OptionKey, raw: string | boolean | undefined, cmd: Command, cwd: string): unknown {
  const spec = OPTION_TABLE[key];
  const str = typeof raw === 'string' ? raw : undefined;
  switch (spec.kind) {
    case 'integer':
    case 'number':
      return str === undefined ? undefined : cliNumber(key, str);
    case 'choice':
      return str === undefined ? undefined : checkChoice(spec, str, cliNaming(key, str));
    case 'seed':
      return str === undefined ? tableDefault('seed') : checkSeed(str, cliNaming(key, str));
    case 'boolean':
      if (spec.cli?.flag.startsWith('--no-')) return cmd.getOptionValueSource(key) === 'cli' ? raw === true : undefined;
      return raw === true;
    case 'text':
      // --no-negative-prompt: null, no negative prompt at all
      return raw === false && spec.nullable ? null : str;
    case 'windowPrompts':
      return str === undefined ? undefined : readWindowPromptsFile(flagName(key), inputFile(flagName(key), str, cwd));
    default:
      throw new Error(`option ${key}: the CLI reads its file itself`);
  }
}

/** The values of the rows `keys` from commander's raw options, keyed by the library's names. */
export function libraryValues(o: RawGenerateOptions, keys: readonly OptionKey[], cmd: Command, cwd: string): Partial<Record<OptionKey, unknown>> {
  const out: Partial<Record<OptionKey, unknown>> = {};
  for (const key of keys) out[key] = libraryValue(key, o[key], cmd, cwd);
  return out;
}

/**
 * The GenerateOptions a parsed command sets directly (every row the command has a flag for, but the prompt,
 * the size and the files the CLI reads itself): what main.ts hands the library next to those.
 */
export function passedOptions(command: { readonly command: 'generate' | 'upscale' }): Partial<GenerateOptions> {
  const c = command as unknown as Readonly<Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  for (const key of command.command === 'upscale' ? UPSCALE_OPTION_KEYS : GENERATE_OPTION_KEYS) if (c[key] !== undefined) out[key] = c[key];
  return out as Partial<GenerateOptions>;
}

/**
 * The bounds that depend on the model (stride ≤ its native latent size), checked as soon as the model is loaded
 * and worded like every other flag error (the flag and the value typed), before any work starts.
 * @throws OptionsError
 */
export function checkModelBounds(command: { readonly command: 'generate' | 'upscale' }, nativeLatent: number): void {
  for (const [key, value] of Object.entries(passedOptions(command)) as Array<[OptionKey, unknown]>) {
    const spec = OPTION_TABLE[key];
    if (spec.range?.max === 'nativeLatent' && typeof value === 'number') checkNumber(spec, value, { name: flagName(key), shown: `"${value}"`, audience: 'cli' }, nativeLatent);
  }
}

/**
 * One note per flag typed that the chosen method does not use (its row's `usedBy`, e.g. --c with --method
 * direct): the run goes on, the value is only ignored.
 */
export function ignoredFlagNotes(command: { readonly command: 'generate' | 'upscale'; readonly method?: Method }): string[] {
  const method = command.method ?? (tableDefault('method') as Method);
  const notes: string[] = [];
  for (const [key, value] of Object.entries(passedOptions(command)) as Array<[OptionKey, unknown]>) {
    const group = OPTION_TABLE[key].usedBy;
    if (group === undefined || value === undefined || value === false) continue;
    const users = methodsUsing(group);
    if (!users.includes(method)) notes.push(`${flagName(key)} is used by ${users.join(', ')} only; --method ${method} ignores it`);
  }
  return notes;
}
