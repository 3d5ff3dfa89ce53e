/**
 * The shape of one row of the option table (option-table.ts): what an option is (kind, unit, range,
 * default), how the command line spells it, and how the web page shows it. The library, the CLI
 * (src/cli/generation-flags.ts) and the page (src/server/form-fields.ts) all read the same rows.
 */
import type { Method } from './generate-options.js';

/**
 * What values an option takes. `integer`/`number`: finite numbers within `range`; `choice`: one of `choices`
 * (after `normalize`); `seed`: 0..2^64 − 1 as torch takes it; `text`, `boolean`: as named; `tensor`, `image`,
 * `windowPrompts`: library values the CLI reads from a file (the flag takes a path).
 */
export type OptionKind = 'text' | 'integer' | 'number' | 'boolean' | 'choice' | 'seed' | 'tensor' | 'image' | 'windowPrompts';

/** Units of numeric options; the ones in MESSAGE_UNITS are named in error messages. */
export type Unit = 'pixels' | 'latent cells' | 'steps' | 'share of the window' | 'share of the schedule' | 'windows' | 'prompt chunks' | 'CFG scale' | 'exponent';

/** Units an error message names after the expected range, e.g. "a number in [0, 1] (a share of the window)". */
export const MESSAGE_UNITS: Readonly<Partial<Record<Unit, string>>> = {
  'latent cells': 'latent cells',
  'share of the window': 'a share of the window',
};

/** Allowed values of a numeric option. `max: 'nativeLatent'` is the model's native latent size (UNet sample_size). */
export interface Range {
  readonly min?: number;
  /** `min` itself is not allowed (x > min). */
  readonly minExclusive?: boolean;
  readonly max?: number | 'nativeLatent';
  readonly multipleOf?: number;
}

/** What a default may depend on. */
export interface DefaultContext {
  readonly method: Method;
  /** The model's native latent size in cells (UNet sample_size). */
  readonly nativeLatent: number;
}

export type OptionValue = string | number | boolean | null;

/** The command-line flag of an option. Its commander attribute name (camelCased long flag) is the library key. */
export interface CliFlag {
  /** As commander takes it: `--c <x>`, `--no-patch-prompts` (a switch that turns a default-on option off), `--reference-compat`. */
  readonly flag: string;
  /** Help text when it differs from the option's (e.g. for a --no-x switch); shown without a default. */
  readonly help?: string;
  /** A second switch that sets the option to null (`--no-negative-prompt`). */
  readonly off?: { readonly flag: string; readonly help: string };
  /** Appended to an unknown-choice message on the command line only (`"--scheduler help" lists them`). */
  readonly hint?: string;
  /** The CLI holds a path; the library gets what the CLI reads from it (image, init latents). */
  readonly file?: true;
  /** Only the `upscale` command has the flag. */
  readonly upscaleOnly?: true;
}

/** How the web page shows an option (its default and help come from the same row). */
export interface PageField {
  readonly label: string;
  readonly group: 'main' | 'advanced';
  /** The slider/spinner range of the page: what the page lets a user ask for, inside the option's own range. */
  readonly min?: number;
  readonly max?: number;
  readonly step?: number;
  readonly multiline?: true;
}

/** A set of methods named by a trait of the method table, or one method. */
export type MethodGroup = 'windowed' | 'progressive' | Method;

/** One option of GenerateOptions. */
export interface OptionSpec {
  readonly kind: OptionKind;
  /** What the option decides, as the CLI's --help and the page show it (the default is appended). */
  readonly help: string;
  /** undefined: required (prompt, width, height) or none. A function when the method or the model decides it. */
  readonly default?: OptionValue | ((ctx: DefaultContext) => OptionValue);
  /** The default in words, for help texts, where `default` is a function or needs explaining. */
  readonly defaultText?: string;
  readonly unit?: Unit;
  readonly range?: Range;
  readonly choices?: readonly string[];
  /** null is a value of its own (negativePrompt: none at all). */
  readonly nullable?: true;
  /** Maps what a user typed to a choice (aliases); undefined: unknown. */
  readonly normalize?: (typed: string) => string | undefined;
  /** Its name in a PNG's "parameters" text (A1111's infotext: its own names where it has the option). */
  readonly infotext?: string;
  /** undefined: library only. */
  readonly cli?: CliFlag;
  /** undefined: not on the page. */
  readonly page?: PageField;
  /**
   * Which methods use it (default: all): the windowed or the progressive ones (the method table's traits,
   * src/methods/), or one method by name. The page greys it out for the others; the CLI says it is ignored.
   */
  readonly usedBy?: MethodGroup;
}
