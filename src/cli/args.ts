/**
 * Command-line parsing of the `accdiffusion` tool (issues 4 and 5): the `generate` and `info`
 * subcommands built with commander, turned into typed commands. Every value is validated here so that
 * a bad argument ends in one OptionsError line before any model is loaded. Defaults follow the
 * reference CLI (accdiffusion_sdxl.py) through src/pipeline/options.ts.
 */
import { Command, CommanderError, Option } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OptionsError } from '../errors.js';
import { METHODS, REFERENCE_NEGATIVE_PROMPT, SCHEDULERS, type Method, type SchedulerName } from '../pipeline/options.js';
import type { Device } from '../engine/providers.js';

/** Device names, kept here so parsing never loads onnxruntime (src/engine/providers.ts has the same list). */
export const CLI_DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu'];

/** Default --scale when neither --scale nor --width/--height is given: the reference's 1024 → 2048. */
export const DEFAULT_SCALE = 2;

/** Default seed, the same as resolveOptions' (the reference CLI's). */
export const DEFAULT_SEED = 42;

/**
 * Target size: pixels, or a multiple of the model's native size, which is only known after loading
 * (see resolveTargetSize).
 */
export type TargetSize =
  | { readonly kind: 'pixels'; readonly width: number; readonly height: number }
  | { readonly kind: 'scale'; readonly scale: number };

export interface GenerateCommand {
  readonly command: 'generate';
  /** Model folder or Hugging Face repo id, as given (default: the bundled model folder). */
  readonly model: string;
  readonly prompt: string;
  /** undefined: the reference negative prompt; null: none (--no-negative-prompt). */
  readonly negativePrompt: string | null | undefined;
  readonly size: TargetSize;
  readonly method: Method;
  readonly steps?: number;
  readonly guidance?: number;
  readonly multiGuidance?: number;
  readonly guidanceRescale?: number;
  readonly scheduler?: SchedulerName;
  readonly seed: number;
  readonly c?: number;
  readonly stride?: number;
  readonly viewBatchSize?: number;
  readonly cosineScale1?: number;
  readonly cosineScale2?: number;
  readonly cosineScale3?: number;
  readonly sigma?: number;
  /** undefined: the method's default; false: --no-patch-prompts. */
  readonly patchPrompts?: boolean;
  readonly windowInteraction?: boolean;
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

/** The package root: the nearest folder above this file whose package.json is named "accdiffusion". */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'accdiffusion') return dir;
      } catch {
        // an unreadable package.json is not ours; keep looking upwards
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('accdiffusion: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The bundled default model folder. */
export function defaultModelPath(): string {
  return join(packageRoot(), 'models', 'shapes-xl');
}

/** The package's version from its package.json. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function fail(message: string): never {
  throw new OptionsError(message);
}

// Values are parsed after commander so that each problem gets our own one-line message naming the flag.
function parseNumber(flag: string, raw: string | undefined, what: 'integer' | 'number', ok: (x: number) => boolean, expected: string): number | undefined {
  if (raw === undefined) return undefined;
  const s = raw.trim();
  const x = s === '' ? NaN : Number(s);
  if (!Number.isFinite(x) || (what === 'integer' && !Number.isInteger(x)) || !ok(x)) fail(`${flag} must be ${expected}, got "${raw}"`);
  return x;
}
const positiveInt = (flag: string, raw: string | undefined) => parseNumber(flag, raw, 'integer', (x) => x > 0, 'a positive integer');
const nonNegative = (flag: string, raw: string | undefined) => parseNumber(flag, raw, 'number', (x) => x >= 0, 'a non-negative number');
const anyNumber = (flag: string, raw: string | undefined) => parseNumber(flag, raw, 'number', () => true, 'a number');

function oneOf<T extends string>(flag: string, raw: string | undefined, choices: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(choices as readonly string[]).includes(raw)) fail(`unknown ${flag.replace(/^--/, '')} "${raw}" (choose ${choices.join(', ')})`);
  return raw as T;
}

/** An output file: its folder must exist, and the file must not unless --force. */
function outputFile(flag: string, raw: string, cwd: string, force: boolean): string {
  const file = resolve(cwd, raw);
  const dir = dirname(file);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`${flag}: folder ${dir} does not exist`);
  if (existsSync(file)) {
    if (statSync(file).isDirectory()) fail(`${flag}: ${file} is a folder`);
    if (!force) fail(`${flag}: ${file} already exists (use --force to overwrite)`);
  }
  return file;
}

/** An output folder: created later if missing, but its parent must exist. */
function outputDir(flag: string, raw: string, cwd: string): string {
  const dir = resolve(cwd, raw);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) fail(`${flag}: ${dir} is not a folder`);
  } else {
    const parent = dirname(dir);
    if (!existsSync(parent) || !statSync(parent).isDirectory()) fail(`${flag}: folder ${parent} does not exist`);
  }
  return dir;
}

function inputFile(flag: string, raw: string, cwd: string): string {
  const file = resolve(cwd, raw);
  if (!existsSync(file) || !statSync(file).isFile()) fail(`${flag}: file ${file} does not exist`);
  return file;
}

function buildProgram(io: ParseIo, result: { value?: ParsedCommand }, cwd: string): Command {
  const program = new Command('accdiffusion')
    .description('High-resolution images from Stable Diffusion / SDXL model folders with AccDiffusion')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({
      writeOut: io.writeOut ?? ((s) => process.stdout.write(s)),
      // commander's own error text is replaced by our OptionsError message; see parseArgs.
      writeErr: () => {},
      outputError: () => {},
    })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);

  program
    .command('generate')
    .description('generate an image at a size above the model\'s native one')
    .option('--model <folder|repo>', 'model folder or Hugging Face repo id in the local cache (default: the bundled shapes-xl)')
    .requiredOption('--prompt <text>', 'what to draw')
    .option('--negative-prompt <text>', `negative prompt (default "${REFERENCE_NEGATIVE_PROMPT}")`)
    .option('--no-negative-prompt', 'no negative prompt at all')
    .option('--width <px>', 'target width in pixels (multiple of 8)')
    .option('--height <px>', 'target height in pixels (multiple of 8)')
    .option('--scale <n>', `target = native size × n (default ${DEFAULT_SCALE} when no --width/--height)`)
    .option('--method <name>', `one of ${METHODS.join(', ')}`, 'accdiffusion')
    .option('--steps <n>', 'denoising steps per stage (default 50)')
    .option('--guidance <x>', 'CFG scale of the native pass and dilated branch (default 7.5)')
    .option('--multi-guidance <x>', 'CFG scale of the patch branch (default 7.5)')
    .option('--guidance-rescale <x>', 'diffusers guidance_rescale in [0, 1] (default 0)')
    .option('--scheduler <name>', `${SCHEDULERS.join(' or ')} (default: the model's scheduler)`)
    .option('--seed <n>', `random seed (default ${DEFAULT_SEED})`)
    .option('--c <x>', 'attention-ratio threshold of patch prompts (default 0.3)')
    .option('--stride <cells>', 'window stride in latent cells (default: half the native latent size)')
    .option('--view-batch-size <n>', 'windows per UNet batch (default 16)')
    .option('--cosine-scale-1 <x>', 'exponent of the skip-residual factor (default 3)')
    .option('--cosine-scale-2 <x>', 'exponent of the dilated-sampling factor (default 1)')
    .option('--cosine-scale-3 <x>', 'exponent of the blur factor (default 1)')
    .option('--sigma <x>', 'Gaussian blur std before dilated sampling (default 0.8)')
    .option('--no-patch-prompts', 'same prompt in every window (ablation)')
    .option('--no-window-interaction', 'no window interaction in dilated sampling (ablation)')
    .option('--reference-compat', 'reproduce the reference code\'s scheduler input-scaling quirk', false)
    .option('--init-latents <file>', 'safetensors with tensor "latents" [1,4,h,w] float32 for the native pass')
    .option('--save-latents <file>', 'write final and per-stage latents (safetensors)')
    .option('--save-stages <dir>', 'write every stage image, token masks and patch-prompt maps')
    .option('--report <file>', 'write a JSON report (parameters, window prompts, timings, UNet calls, memory)')
    .option('--out <file>', 'output PNG (default accdiffusion-<seed>.png)')
    .option('--force', 'overwrite existing output files; allow very large sizes', false)
    .addOption(new Option('--device <name>', `execution provider: ${CLI_DEVICES.join(', ')}`).default('cpu'))
    .option('--threads <n>', 'intra-op threads per session')
    .option('--quiet', 'print nothing but errors', false)
    .option('--json', 'progress as one JSON object per line on stdout', false)
    .option('--state-dir <dir>', 'keep each finished stage here so an interrupted run can --resume')
    .option('--resume', 'continue from the last finished stage in --state-dir', false)
    .action((opts: Record<string, string | boolean | undefined>, cmd: Command) => {
      result.value = toGenerate(opts, cmd, cwd);
    });

  program
    .command('info')
    .description('describe a model: family, native size, components, dtypes, parameters, devices')
    .option('--model <folder|repo>', 'model folder or Hugging Face repo id (default: the bundled shapes-xl)')
    .option('--image <file.png>', 'print the generation parameters stored in a PNG instead')
    .option('--json', 'print JSON', false)
    .action((opts: { model?: string; image?: string; json: boolean }) => {
      const image = opts.image === undefined ? undefined : inputFile('--image', opts.image, cwd);
      result.value = { command: 'info', model: opts.model ?? defaultModelPath(), image, json: opts.json };
    });

  return program;
}

function toGenerate(o: Record<string, string | boolean | undefined>, cmd: Command, cwd: string): GenerateCommand {
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

const MISSING_COMMAND = 'missing command: use "accdiffusion generate --prompt ..." or "accdiffusion info" (see --help)';

/**
 * Parses `argv` (without node and script: process.argv.slice(2)). Throws OptionsError with one line
 * for anything invalid; returns { command: 'shown' } after printing help or the version.
 */
export function parseArgs(argv: readonly string[], io: ParseIo = {}): ParsedCommand {
  const result: { value?: ParsedCommand } = {};
  const program = buildProgram(io, result, io.cwd ?? process.cwd());
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

/** Largest pixel count accepted without --force: 8192² (the latents alone then take 16 MiB per copy, the VAE far more). */
export const MAX_PIXELS_WITHOUT_FORCE = 8192 * 8192;

/**
 * The target size in pixels once the model's native size is known. Scale results must land on
 * multiples of 8; very large targets need --force.
 */
export function resolveTargetSize(size: TargetSize, nativeSize: number, force: boolean): { width: number; height: number } {
  let width: number;
  let height: number;
  if (size.kind === 'pixels') {
    ({ width, height } = size);
  } else {
    width = height = Math.round(nativeSize * size.scale);
    if (Math.abs(nativeSize * size.scale - width) > 1e-6 || width % 8 !== 0) {
      fail(`--scale ${size.scale} gives ${nativeSize * size.scale} px from the native ${nativeSize} px, not a multiple of 8; use --width/--height`);
    }
  }
  if (!force && width * height > MAX_PIXELS_WITHOUT_FORCE) {
    const e = estimateRun(width, height, nativeSize);
    fail(`${width}x${height} is very large (${(width * height / 1e6).toFixed(0)} Mpx): about ${e.memoryGiB.toFixed(1)} GiB of memory for the image and latents, ` +
      `and ${e.unetCallsPerStep.toLocaleString('en-US')} native-size UNet evaluations per denoising step over ${e.stages} stages ` +
      `(${e.unetCalls50.toLocaleString('en-US')} at the default 50 steps: ${formatDuration(e.unetCalls50 * e.secondsPerCall)} at ${e.secondsPerCall} s each, a CPU's pace for SDXL); add --force to run it anyway`);
  }
  return { width, height };
}

/** A rough cost estimate of a generation, shown before refusing a very large size. */
export interface RunEstimate {
  /** Decoded float32 pixels, 8-bit image, and a dozen latent copies. */
  readonly memoryGiB: number;
  /** Upscaling stages (the target's long side over the native side, rounded up). */
  readonly stages: number;
  /** UNet evaluations at the native size for one step of every stage, CFG's two branches included. */
  readonly unetCallsPerStep: number;
  /** The same over 50 steps per stage. */
  readonly unetCalls50: number;
  /** Assumed seconds per native-size UNet evaluation (SDXL at 1024 px on a desktop CPU). */
  readonly secondsPerCall: number;
}

/**
 * Counts the work AccDiffusion does (spec §3: a native pass, then for each stage s = 2..S patch windows at
 * stride native/2, i.e. about (2s − 1)² of them, plus s² dilated samples, each evaluated with and without the
 * prompt) and the memory of the full-size tensors: float32 pixels (12 B/px), the 8-bit image (3 B/px) and
 * about 12 latent copies (4 channels × 4 B per 8×8 pixels each).
 */
export function estimateRun(width: number, height: number, nativeSize: number): RunEstimate {
  const stages = Math.max(1, Math.ceil(Math.max(width, height) / nativeSize));
  const aspect = Math.min(width, height) / Math.max(width, height);
  let perStep = 2;
  for (let s = 2; s <= stages; s++) {
    const across = 2 * s - 1;
    const down = Math.max(1, Math.ceil((2 * s - 1) * aspect));
    perStep += 2 * (across * down + s * s);
  }
  const bytes = width * height * (12 + 3) + 12 * 4 * 4 * (width / 8) * (height / 8);
  const secondsPerCall = 10;
  return { memoryGiB: bytes / 2 ** 30, stages, unetCallsPerStep: perStep, unetCalls50: perStep * 50, secondsPerCall };
}

function formatDuration(seconds: number): string {
  if (seconds < 3600) return `about ${Math.ceil(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `about ${(seconds / 3600).toFixed(0)} h`;
  return `about ${(seconds / 86400).toFixed(0)} days`;
}
