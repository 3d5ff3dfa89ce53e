/**
 * Command-line parsing of the `accdiffusion` tool (issues 4 and 5): the raw values of the flag table
 * (flags.ts) turned into typed `generate` and `info` commands. Every value is validated here so that
 * a bad argument ends in one OptionsError line before any model is loaded. Defaults follow the
 * reference CLI (accdiffusion_sdxl.py) through src/pipeline/options.ts.
 */
import { CommanderError, type Command } from 'commander';
import { basename } from 'node:path';
import { OptionsError } from '../errors.js';
import { METHODS, SCHEDULERS, type GenerateOptions, type Method } from '../pipeline/options.js';
import type { Device } from '../engine/providers.js';
import { anyNumber, fail, inputFile, nonNegative, oneOf, outputDir, outputFile, parseNumber, positiveInt } from './arg-values.js';
import { buildProgram, CLI_DEVICES, DEFAULT_SCALE, DEFAULT_SEED, type RawGenerateOptions, type RawInfoOptions } from './flags.js';
import { defaultModelPath } from './package-info.js';
import type { TargetSize } from './target-size.js';
import { readWindowPromptsFile } from './window-prompts-file.js';

export { CLI_DEVICES, DEFAULT_SCALE, DEFAULT_SEED } from './flags.js';
export { defaultModelPath, packageRoot, packageVersion } from './package-info.js';
export { estimateRun, MAX_PIXELS_WITHOUT_FORCE, resolveTargetSize, type RunEstimate, type TargetSize } from './target-size.js';

/** The generation settings the CLI passes through unchanged (their documentation is in GenerateOptions). */
type PassedThrough =
  | 'prompt' | 'steps' | 'guidance' | 'multiGuidance' | 'guidanceRescale' | 'scheduler' | 'c' | 'stride' | 'viewBatchSize'
  | 'cosineScale1' | 'cosineScale2' | 'cosineScale3' | 'sigma' | 'patchPrompts' | 'windowInteraction' | 'windowPrompts';

export interface GenerateCommand extends Pick<GenerateOptions, PassedThrough> {
  readonly command: 'generate';
  /** Model folder or Hugging Face repo id, as given (default: the bundled model folder). */
  readonly model: string;
  /** undefined: the reference negative prompt; null: none (--no-negative-prompt). */
  readonly negativePrompt: string | null | undefined;
  readonly size: TargetSize;
  readonly method: Method;
  readonly seed: number;
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

export interface InfoCommand {
  readonly command: 'info';
  readonly model: string;
  /** A PNG whose parameters text to print instead of describing the model. */
  readonly image?: string;
  readonly json: boolean;
}

/** --help or --version was shown; the caller exits with code 0. */
export interface ShownCommand {
  readonly command: 'shown';
}

export type ParsedCommand = GenerateCommand | InfoCommand | ShownCommand;

export interface ParseIo {
  /** Where help and version text go (default process.stdout). */
  readonly writeOut?: (text: string) => void;
  /** Base for relative paths (default process.cwd()). */
  readonly cwd?: string;
}

function toGenerate(o: RawGenerateOptions, cmd: Command, cwd: string): GenerateCommand {
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const force = o.force === true;

  const prompt = str('prompt') ?? '';
  if (prompt.trim() === '') fail('--prompt must not be empty');

  const width = positiveInt('--width', str('width'));
  const height = positiveInt('--height', str('height'));
  const scale = parseNumber('--scale', str('scale'), 'number', (x) => x > 0, 'a positive number');
  let size: TargetSize;
  if (scale !== undefined) {
    if (width !== undefined || height !== undefined) fail('give either --scale or --width/--height, not both');
    size = { kind: 'scale', scale };
  } else if (width !== undefined || height !== undefined) {
    if (width === undefined || height === undefined) fail('give both --width and --height (or --scale)');
    for (const [flag, v] of [['--width', width], ['--height', height]] as const) {
      if (v % 8 !== 0) fail(`${flag} ${v} is not a multiple of 8`);
    }
    size = { kind: 'pixels', width, height };
  } else {
    size = { kind: 'scale', scale: DEFAULT_SCALE };
  }

  const seed = parseNumber('--seed', str('seed'), 'integer', (x) => x >= 0 && x <= Number.MAX_SAFE_INTEGER, 'a non-negative integer') ?? DEFAULT_SEED;
  const guidanceRescale = parseNumber('--guidance-rescale', str('guidanceRescale'), 'number', (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
  const sigma = parseNumber('--sigma', str('sigma'), 'number', (x) => x > 0, 'a positive number');

  const neg = o.negativePrompt;
  const negativePrompt = neg === false ? null : typeof neg === 'string' ? neg : undefined;
  // commander gives negatable flags a default of true; only an explicit --no-... counts.
  const fromCli = (k: string) => cmd.getOptionValueSource(k) === 'cli';

  const quiet = o.quiet === true;
  const json = o.json === true;
  if (quiet && json) fail('give either --quiet or --json, not both');

  const resume = o.resume === true;
  const stateDirRaw = str('stateDir');
  if (resume && stateDirRaw === undefined) fail('--resume needs --state-dir');

  const outRaw = str('out') ?? `accdiffusion-${seed}.png`;
  if (!/\.png$/i.test(outRaw)) fail(`--out: ${basename(outRaw)} must end in .png`);
  const reportRaw = str('report');
  const saveLatentsRaw = str('saveLatents');
  const initRaw = str('initLatents');
  const stagesRaw = str('saveStages');
  const windowPromptsRaw = str('windowPrompts');

  const out = outputFile('--out', outRaw, cwd, force);
  const files = [out];
  const report = reportRaw === undefined ? undefined : outputFile('--report', reportRaw, cwd, force);
  const saveLatents = saveLatentsRaw === undefined ? undefined : outputFile('--save-latents', saveLatentsRaw, cwd, force);
  for (const f of [report, saveLatents]) {
    if (f !== undefined && files.includes(f)) fail(`${f} is named as two different outputs`);
    if (f !== undefined) files.push(f);
  }

  return {
    command: 'generate',
    model: str('model') ?? defaultModelPath(),
    prompt,
    negativePrompt,
    size,
    method: oneOf('--method', str('method'), METHODS) ?? 'accdiffusion',
    steps: positiveInt('--steps', str('steps')),
    guidance: anyNumber('--guidance', str('guidance')),
    multiGuidance: anyNumber('--multi-guidance', str('multiGuidance')),
    guidanceRescale,
    scheduler: oneOf('--scheduler', str('scheduler'), SCHEDULERS),
    seed,
    c: nonNegative('--c', str('c')),
    stride: positiveInt('--stride', str('stride')),
    viewBatchSize: positiveInt('--view-batch-size', str('viewBatchSize')),
    cosineScale1: nonNegative('--cosine-scale-1', str('cosineScale1')),
    cosineScale2: nonNegative('--cosine-scale-2', str('cosineScale2')),
    cosineScale3: nonNegative('--cosine-scale-3', str('cosineScale3')),
    sigma,
    patchPrompts: fromCli('patchPrompts') ? o.patchPrompts === true : undefined,
    windowInteraction: fromCli('windowInteraction') ? o.windowInteraction === true : undefined,
    referenceCompat: o.referenceCompat === true,
    windowPrompts: windowPromptsRaw === undefined ? undefined : readWindowPromptsFile('--window-prompts', inputFile('--window-prompts', windowPromptsRaw, cwd)),
    initLatents: initRaw === undefined ? undefined : inputFile('--init-latents', initRaw, cwd),
    saveLatents,
    saveStages: stagesRaw === undefined ? undefined : outputDir('--save-stages', stagesRaw, cwd),
    report,
    out,
    force,
    device: oneOf('--device', str('device'), CLI_DEVICES) ?? 'cpu',
    threads: positiveInt('--threads', str('threads')),
    quiet,
    json,
    stateDir: stateDirRaw === undefined ? undefined : outputDir('--state-dir', stateDirRaw, cwd),
    resume,
  };
}

function toInfo(opts: RawInfoOptions, cwd: string): InfoCommand {
  const image = opts.image === undefined ? undefined : inputFile('--image', opts.image, cwd);
  return { command: 'info', model: opts.model ?? defaultModelPath(), image, json: opts.json };
}

const MISSING_COMMAND = 'missing command: use "accdiffusion generate --prompt ..." or "accdiffusion info" (see --help)';

/**
 * Parses `argv` (without node and script: process.argv.slice(2)). Throws OptionsError with one line
 * for anything invalid; returns { command: 'shown' } after printing help or the version.
 */
export function parseArgs(argv: readonly string[], io: ParseIo = {}): ParsedCommand {
  const result: { value?: ParsedCommand } = {};
  const cwd = io.cwd ?? process.cwd();
  const program = buildProgram(io.writeOut, {
    generate: (opts, cmd) => {
      result.value = toGenerate(opts, cmd, cwd);
    },
    info: (opts) => {
      result.value = toInfo(opts, cwd);
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
      throw new OptionsError(e.message.replace(/^error: /, '').split('\n')[0]!);
    }
    throw e;
  }
  if (!result.value) {
    throw new OptionsError(MISSING_COMMAND);
  }
  return result.value;
}
