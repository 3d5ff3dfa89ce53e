/**
 * The flags `generate` and `upscale` share, in --help order: the library's options with the flags, help
 * texts and defaults of the option table (src/options/option-table.ts), and the CLI's own flags (files,
 * device, output), declared here. Values come out of commander raw; library-values.ts converts them.
 */
import { Option, type Command } from 'commander';
import type { Device } from '../engine/providers.js';
import { commanderDefault, optionHelp } from '../options/help-text.js';
import { OPTION_TABLE, type OptionKey } from '../options/option-table.js';

/** Device names, kept here so parsing never loads onnxruntime (src/engine/providers.ts has the same list). */
export const CLI_DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu'];

/** Default --scale when neither --scale nor --width/--height is given: the reference's 1024 → 2048. */
export const DEFAULT_SCALE = 2;

/** A flag of the CLI alone (it never reaches the library as an option of its own). */
interface CliOnlyFlag {
  readonly flag: string;
  readonly help: string | ((command: 'generate' | 'upscale') => string);
  /** Shown by commander as `(default: …)`. */
  readonly default?: string | boolean;
}

/** --scale's help: relative to the model's native size (generate) or to the input image (upscale). */
export const scaleHelp = (command: 'generate' | 'upscale'): string =>
  `target = ${command === 'upscale' ? 'input' : 'native'} size × n (default ${DEFAULT_SCALE} when no --width/--height)`;

const SCALE: CliOnlyFlag = { flag: '--scale <n>', help: scaleHelp };

/** After the library's options: where the files go, and how the run is shown and resumed. */
const OUTPUT_FLAGS: readonly CliOnlyFlag[] = [
  { flag: '--save-latents <file>', help: 'write final and per-stage latents (safetensors)' },
  { flag: '--save-stages <dir>', help: 'write every stage image, token masks and patch-prompt maps' },
  { flag: '--report <file>', help: 'write a JSON report (parameters, window prompts, timings, UNet calls, memory)' },
  { flag: '--out <file>', help: 'output PNG (default accdiffusion-<seed>.png; upscale: <input name>-upscaled.png)' },
  { flag: '--force', help: 'overwrite existing output files; allow very large sizes', default: false },
  { flag: '--device <name>', help: `execution provider: ${CLI_DEVICES.join(', ')}`, default: 'cpu' },
  { flag: '--threads <n>', help: 'intra-op threads per session' },
  { flag: '--quiet', help: 'print nothing but errors', default: false },
  { flag: '--json', help: 'progress as one JSON object per line on stdout', default: false },
  { flag: '--state-dir <dir>', help: 'keep each finished stage here so an interrupted run can --resume' },
  { flag: '--resume', help: 'continue from the last finished stage in --state-dir', default: false },
];

/** The shared flags in --help order: option-table keys, and the CLI's own flags where they belong. */
const SHARED_FLAGS: ReadonlyArray<OptionKey | CliOnlyFlag> = [
  'negativePrompt', 'promptWeighting', 'maxPromptChunks', 'width', 'height', SCALE, 'method', 'steps', 'guidance',
  'multiGuidance', 'guidanceRescale', 'scheduler', 'seed', 'c', 'stride', 'viewBatchSize', 'cosineScale1', 'cosineScale2',
  'cosineScale3', 'sigma', 'patchPrompts', 'windowInteraction', 'windowPrompts', 'referenceCompat', 'initLatents', ...OUTPUT_FLAGS,
];

/** The option-table keys whose flags `generate` (and `upscale`) take from the shared list. */
export const SHARED_OPTION_KEYS: readonly OptionKey[] = SHARED_FLAGS.filter((f): f is OptionKey => typeof f === 'string');

/**
 * Declares the flag of one table row on `cmd`: its help text and commander default from the table, plus its
 * `off` switch (--no-negative-prompt). `help` and `required` are per-command overrides (upscale's --prompt).
 */
export function addOptionFlag(cmd: Command, key: OptionKey, extra: { readonly help?: string; readonly required?: boolean } = {}): Command {
  const cli = OPTION_TABLE[key].cli;
  if (cli === undefined) throw new Error(`option ${key} has no command-line flag`);
  const option = new Option(cli.flag, extra.help ?? optionHelp(key));
  const def = commanderDefault(key);
  if (def !== undefined) option.default(def);
  if (extra.required) option.makeOptionMandatory();
  cmd.addOption(option);
  if (cli.off) cmd.addOption(new Option(cli.off.flag, cli.off.help));
  return cmd;
}

/** Adds the shared flags (everything after --prompt) to `generate` or `upscale`. */
export function addGenerationFlags(cmd: Command, command: 'generate' | 'upscale'): Command {
  for (const f of SHARED_FLAGS) {
    if (typeof f === 'string') {
      addOptionFlag(cmd, f);
      continue;
    }
    const option = new Option(f.flag, typeof f.help === 'function' ? f.help(command) : f.help);
    if (f.default !== undefined) option.default(f.default);
    cmd.addOption(option);
  }
  return cmd;
}
