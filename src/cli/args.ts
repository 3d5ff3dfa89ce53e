/**
 * Command-line parsing of the `accdiffusion` tool (issues 4 and 5): the raw values of the flags (flags.ts)
 * turned into typed `generate`, `upscale` and `info` commands. The library's options are converted and
 * checked through the option table (library-values.ts, src/options/); the CLI's own flags (size, files,
 * device) here. A bad argument ends in one OptionsError line before any model is loaded.
 */
import { CommanderError, type Command } from 'commander';
import { basename } from 'node:path';
import { OptionsError } from '../errors.js';
import type { GenerateOptions, Method } from '../options/generate-options.js';
import { checkMultiple } from '../options/check-option.js';
import { OPTION_TABLE, tableDefault } from '../options/option-table.js';
import { checkUpscalePrompt } from '../options/resolve-options.js';
import { schedulerHelp } from '../schedulers/names.js';
import type { Seed } from '../tensor/seed.js';
import type { Device } from '../engine/providers.js';
import { fail, inputFile, oneOf, outputDir, outputFile, parseNumber, positiveInt } from './arg-values.js';
import { buildProgram, CLI_DEVICES, DEFAULT_SCALE, type RawGenerateOptions, type RawInfoOptions } from './flags.js';
import { cliNumber, GENERATE_OPTION_KEYS, libraryValues } from './library-values.js';
import { defaultModelPath } from '../loading/package-root.js';
import { modelFileFlags, type ModelFileFlags } from './model-file-flags.js';
import type { TargetSize } from './target-size.js';

export { CLI_DEVICES, DEFAULT_SCALE, DEFAULT_SEED } from './flags.js';
export { defaultModelPath, packageRoot, packageVersion } from '../loading/package-root.js';
export { MAX_PIXELS_WITHOUT_FORCE, resolveTargetSize, type TargetSize } from './target-size.js';

/** GenerateOptions the command holds otherwise (as a size, a path, or typed as the CLI has them) or not at all. */
type NotPassedThrough = 'negativePrompt' | 'width' | 'height' | 'method' | 'seed' | 'referenceCompat' | 'stageImages' | 'initLatents' | 'image' | 'strength' | 'inputResidual';

/** `generate`: the library's options as the CLI passes them through (documented in GenerateOptions), and the CLI's own. */
export interface GenerateCommand extends Omit<GenerateOptions, NotPassedThrough> {
  readonly command: 'generate';
  /** Model folder, Hugging Face repo id or single-file .safetensors checkpoint, as given (default: the bundled model folder). */
  readonly model: string;
  /** Model-file settings (--config, --prediction-type): see LoadOptions. */
  readonly modelFiles: ModelFileFlags;
  /** undefined: the reference negative prompt; null: none (--no-negative-prompt). */
  readonly negativePrompt: string | null | undefined;
  readonly size: TargetSize;
  readonly method: Method;
  /** 0..2^64 − 1: a number up to 2^53 − 1, a bigint above. */
  readonly seed: Seed;
  readonly referenceCompat: boolean;
  /** Absolute paths of files and folders. */
  readonly initLatents?: string;
  readonly saveLatents?: string;
  readonly saveStages?: string;
  readonly report?: string;
  readonly out: string;
  readonly force: boolean;
  readonly device: Device;
  readonly threads?: number;
  readonly quiet: boolean;
  readonly json: boolean;
  readonly stateDir?: string;
  readonly resume: boolean;
}

/** `upscale`: generate's settings with the user's image as the first pass's start (issue 14). */
export interface UpscaleCommand extends Omit<GenerateCommand, 'command'> {
  readonly command: 'upscale';
  /** Absolute path of the input image. */
  readonly image: string;
  /** img2img strength in [0, 1]; undefined: the library's default (DEFAULT_STRENGTH). */
  readonly strength?: number;
  /** Stages no larger than the input take its encoding as the skip-residual source (GenerateOptions.inputResidual). */
  readonly inputResidual: boolean;
  /** `size` is relative to the input: kind 'scale' multiplies the input's own size. */
}

export interface InfoCommand {
  readonly command: 'info';
  readonly model: string;
  readonly modelFiles: ModelFileFlags;
  /** A PNG whose parameters text to print instead of describing the model. */
  readonly image?: string;
  readonly json: boolean;
}

/** --help or --version was shown; the caller exits with code 0. */
export interface ShownCommand {
  readonly command: 'shown';
}

export type ParsedCommand = GenerateCommand | UpscaleCommand | InfoCommand | ShownCommand;

export interface ParseIo {
  /** Where help and version text go (default process.stdout). */
  readonly writeOut?: (text: string) => void;
  /** Base for relative paths (default process.cwd()). */
  readonly cwd?: string;
}

/** --width/--height or --scale (default: DEFAULT_SCALE); upscale takes any integer size (it resizes at the end). */
function targetSize(str: (k: string) => string | undefined, upscale: boolean): TargetSize {
  const width = str('width') === undefined ? undefined : cliNumber('width', str('width')!);
  const height = str('height') === undefined ? undefined : cliNumber('height', str('height')!);
  const scale = parseNumber('--scale', str('scale'), 'number', (x) => x > 0, 'a positive number');
  if (scale !== undefined) {
    if (width !== undefined || height !== undefined) fail('give either --scale or --width/--height, not both');
    return { kind: 'scale', scale };
  }
  if (width === undefined && height === undefined) return { kind: 'scale', scale: DEFAULT_SCALE };
  if (width === undefined || height === undefined) fail('give both --width and --height (or --scale)');
  if (!upscale) {
    for (const key of ['width', 'height'] as const) checkMultiple(OPTION_TABLE[key], key === 'width' ? width : height, { name: `--${key}`, audience: 'cli' });
  }
  return { kind: 'pixels', width, height };
}

/** The files a run writes: each checked (folder exists, not overwritten without --force) and none named twice. */
function outputPaths(str: (k: string) => string | undefined, seed: Seed, cwd: string, force: boolean) {
  const outRaw = str('out') ?? `accdiffusion-${seed}.png`;
  if (!/\.png$/i.test(outRaw)) fail(`--out: ${basename(outRaw)} must end in .png`);
  const out = outputFile('--out', outRaw, cwd, force);
  const reportRaw = str('report');
  const saveLatentsRaw = str('saveLatents');
  const report = reportRaw === undefined ? undefined : outputFile('--report', reportRaw, cwd, force);
  const saveLatents = saveLatentsRaw === undefined ? undefined : outputFile('--save-latents', saveLatentsRaw, cwd, force);
  const files = [out];
  for (const f of [report, saveLatents]) {
    if (f !== undefined && files.includes(f)) fail(`${f} is named as two different outputs`);
    if (f !== undefined) files.push(f);
  }
  const stagesRaw = str('saveStages');
  return { out, report, saveLatents, saveStages: stagesRaw === undefined ? undefined : outputDir('--save-stages', stagesRaw, cwd) };
}

/** The library's options of `generate` as the command holds them (converted and checked by library-values.ts). */
type CommandOptions = Omit<GenerateOptions, NotPassedThrough | 'prompt'> & Pick<GenerateCommand, 'negativePrompt' | 'method' | 'seed' | 'referenceCompat'>;

function toGenerate(o: RawGenerateOptions, cmd: Command, cwd: string, upscale = false): GenerateCommand {
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const force = o.force === true;

  const prompt = str('prompt') ?? '';
  // upscale may go without a prompt, except with accdiffusion (checked in toUpscale)
  if (prompt.trim() === '' && !upscale) fail('--prompt must not be empty');
  const size = targetSize(str, upscale);
  const options = libraryValues(o, GENERATE_OPTION_KEYS, cmd, cwd) as CommandOptions;

  const quiet = o.quiet === true;
  const json = o.json === true;
  if (quiet && json) fail('give either --quiet or --json, not both');
  const resume = o.resume === true;
  const stateDirRaw = str('stateDir');
  if (resume && stateDirRaw === undefined) fail('--resume needs --state-dir');
  const initRaw = str('initLatents');

  return {
    command: 'generate',
    model: str('model') ?? defaultModelPath(),
    modelFiles: modelFileFlags(o, cwd),
    prompt,
    size,
    ...options,
    initLatents: initRaw === undefined ? undefined : inputFile('--init-latents', initRaw, cwd),
    ...outputPaths(str, options.seed, cwd, force),
    force,
    device: oneOf('--device', str('device'), CLI_DEVICES) ?? 'cpu',
    threads: positiveInt('--threads', str('threads')),
    quiet,
    json,
    stateDir: stateDirRaw === undefined ? undefined : outputDir('--state-dir', stateDirRaw, cwd),
    resume,
  };
}

/** `upscale`: generate's checks, plus the image, the strength and AccDiffusion's need for a prompt. */
function toUpscale(o: RawGenerateOptions, cmd: Command, cwd: string): UpscaleCommand {
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const image = inputFile('--image', str('image') ?? '', cwd);
  const { strength, inputResidual, method } = libraryValues(o, ['strength', 'inputResidual', 'method'], cmd, cwd) as Pick<UpscaleCommand, 'strength' | 'inputResidual' | 'method'>;
  checkUpscalePrompt((method ?? tableDefault('method')) as Method, str('prompt') ?? '');
  if (str('initLatents') !== undefined) fail('--init-latents does not apply to upscale (the input image is the start)');
  const out = str('out') ?? `${basename(image).replace(/\.[^.]*$/, '')}-upscaled.png`;
  const g = toGenerate({ ...o, out }, cmd, cwd, true);
  return { ...g, command: 'upscale', image, inputResidual, ...(strength !== undefined ? { strength } : {}) };
}

function toInfo(opts: RawInfoOptions, cwd: string): InfoCommand {
  const image = opts.image === undefined ? undefined : inputFile('--image', opts.image, cwd);
  return { command: 'info', model: opts.model ?? defaultModelPath(), modelFiles: modelFileFlags(opts as unknown as RawGenerateOptions, cwd), image, json: opts.json };
}

/** `generate … --scheduler help` (before --prompt is required): list the schedulers instead. */
function asksSchedulerHelp(argv: readonly string[]): boolean {
  if (argv[0] !== 'generate') return false;
  return argv.some((a, i) => (a === '--scheduler' && argv[i + 1] === 'help') || a === '--scheduler=help');
}

const MISSING_COMMAND = 'missing command: use "accdiffusion generate --prompt ..." or "accdiffusion info" (see --help)';

/**
 * Parses `argv` (without node and script: process.argv.slice(2)). Throws OptionsError with one line
 * for anything invalid; returns { command: 'shown' } after printing help or the version.
 */
export function parseArgs(argv: readonly string[], io: ParseIo = {}): ParsedCommand {
  const result: { value?: ParsedCommand } = {};
  const cwd = io.cwd ?? process.cwd();
  if (asksSchedulerHelp(argv)) {
    (io.writeOut ?? ((s: string) => process.stdout.write(s)))(schedulerHelp());
    return { command: 'shown' };
  }
  const program = buildProgram(io.writeOut, {
    generate: (opts, cmd) => {
      result.value = toGenerate(opts, cmd, cwd);
    },
    info: (opts) => {
      result.value = toInfo(opts, cwd);
    },
    upscale: (opts, cmd) => {
      result.value = toUpscale(opts, cmd, cwd);
    },
  });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return { command: 'shown' };
      // 'commander.help' with a non-zero exit code is the help commander shows when no command was given.
      if (e.code === 'commander.help') {
        if (e.exitCode === 0) return { command: 'shown' };
        throw new OptionsError(MISSING_COMMAND);
      }
      // commander.executeSubCommandAsync etc. never happen: subcommands have actions.
      const message = e.message.replace(/^error: /, '').split('\n')[0]!;
      throw new OptionsError(e.code === 'commander.excessArguments' ? withSwallowedFlag(program, argv, message) : message);
    }
    throw e;
  }
  if (!result.value) {
    throw new OptionsError(MISSING_COMMAND);
  }
  return result.value;
}

/**
 * A flag that takes a value swallows the next flag when its own value is missing (`--c --out x.png` gives --c the
 * value "--out" and leaves x.png over); commander then only says "too many arguments". Name the flag instead.
 */
function withSwallowedFlag(program: Command, argv: readonly string[], message: string): string {
  const valued = new Set(program.commands.find((c) => c.name() === argv[0])?.options.filter((o) => o.required).map((o) => o.long) ?? []);
  for (let i = 1; i + 1 < argv.length; i++) {
    if (valued.has(argv[i]!) && /^--?[a-zA-Z]/.test(argv[i + 1]!)) return `${argv[i]} needs a value; it took "${argv[i + 1]}" as its value (${message})`;
  }
  return message;
}
