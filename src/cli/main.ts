/**
 * The `accdiffusion` command: parse → load the pipeline → generate → write the files (issues 3-5).
 * Error policy (src/errors.ts): an AccDiffusionError is the user's to fix and prints one line
 * `error: <message>` with exit code 2; anything else is a bug and prints its stack with exit code 1.
 * Ctrl-C aborts the generation at the next step boundary, writes nothing, and exits with 130.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { AbortedError, AccDiffusionError, OptionsError } from '../errors.js';
import type { GenerateOptions } from '../options/index.js';
import type { RunCost } from '../pipeline/cost-estimate.js';
import type { LoadOptions, Pipeline, RunContext } from '../pipeline/pipeline-api.js';
import type { Tensor } from '../tensor/tensor.js';
import { readSafetensorsHeader, readTensor } from '../weights/safetensors.js';
import { packageVersion, parseArgs, resolveTargetSize, type GenerateCommand, type InfoCommand, type UpscaleCommand } from './args.js';
import { formatInfoView } from './info.js';
import { infoView } from '../loading/model-info-view.js';
import { describeModel } from '../loading/model-info.js';
import { checkModelBounds, ignoredFlagNotes, passedOptions } from './library-values.js';
import { resolveModelSpec } from './model-spec.js';
import { describeCheckpoint } from '../loading/checkpoint-info.js';
import { isCheckpointFile } from '../loading/model-path.js';
import { checkStagesDir, writeOutputs } from './outputs.js';
import { formatParameters, parseParameters } from './parameters.js';
import { readPngTextEntry } from './png-text.js';
import { createProgressRenderer, type ProgressRenderer } from './progress.js';
import { readInputImage } from '../sampling/input-image.js';
import { resizeExactly, upscaleSize, withInputParameters } from './upscale.js';

/** The pipeline factory the CLI calls (src/pipeline/pipeline.ts exports it as `loadPipeline`). */
export type LoadPipelineFn = (modelSpec: string, options: LoadOptions) => Promise<Pipeline>;

/**
 * The run context the CLI passes: RunContext plus the resume state of --state-dir/--resume, which a
 * pipeline that supports resuming reads (the others ignore the extra fields).
 */
export interface CliRunContext extends RunContext {
  readonly stateDir?: string;
  readonly resume?: boolean;
}

export interface MainOptions {
  readonly stdout?: NodeJS.WritableStream;
  readonly stderr?: NodeJS.WritableStream;
  /** Base of relative paths (default process.cwd()). */
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Default: `loadPipeline` of src/pipeline/pipeline.ts, imported on first use. */
  readonly loadPipeline?: LoadPipelineFn;
  /** Aborting it stops the generation as Ctrl-C does. */
  readonly signal?: AbortSignal;
  /** Turn SIGINT into an abort (the bin script sets this; tests do not). */
  readonly handleSigint?: boolean;
}

/** Exit codes. */
export const EXIT_OK = 0;
export const EXIT_BUG = 1;
export const EXIT_USER_ERROR = 2;
export const EXIT_INTERRUPTED = 130;

async function defaultLoadPipeline(modelSpec: string, options: LoadOptions): Promise<Pipeline> {
  // Imported by URL so this file compiles and the CLI's own parts run before the pipeline exists.
  const url = new URL('../pipeline/pipeline.js', import.meta.url).href;
  const mod = (await import(url)) as { loadPipeline?: LoadPipelineFn };
  if (typeof mod.loadPipeline !== 'function') throw new Error(`${url} does not export loadPipeline`);
  return mod.loadPipeline(modelSpec, options);
}

/** Reads --init-latents: tensor `latents` [1,C,h,w] of a float dtype. */
export function readInitLatents(file: string): Tensor {
  const header = readSafetensorsHeader(file);
  const t = readTensor(header, 'latents');
  if (!(t.data instanceof Float32Array)) throw new OptionsError(`--init-latents: ${file}: tensor "latents" is ${t.dtype}, expected a float type (F32)`);
  if (t.shape.length !== 4 || t.shape[0] !== 1) throw new OptionsError(`--init-latents: ${file}: tensor "latents" has shape [${t.shape.join(', ')}], expected [1, 4, h, w]`);
  return { data: t.data, shape: [...t.shape] };
}

/** `org/name` or `org/name@revision` that is not an existing path (what resolveModel looked up in the cache). */
function isRepoId(spec: string, cwd: string): boolean {
  return /^[\w.-]+\/[\w.-]+(@.+)?$/.test(spec) && !spec.startsWith('.') && !existsSync(resolve(cwd, spec));
}

function writeLine(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text + '\n');
}

/** Runs `generate` or `upscale`; returns the written file paths. */
export async function runGenerate(cmd: GenerateCommand | UpscaleCommand, io: Required<Pick<MainOptions, 'stdout' | 'stderr' | 'cwd' | 'env' | 'loadPipeline'>>, signal: AbortSignal, renderer: ProgressRenderer): Promise<string[]> {
  const started = performance.now();
  if (cmd.saveStages !== undefined) checkStagesDir(cmd.saveStages, { force: cmd.force });
  const folder = resolveModelSpec(cmd.model, io.env, io.cwd);
  const initLatents = cmd.initLatents === undefined ? undefined : readInitLatents(cmd.initLatents);
  // upscale: the input is read (and its size known) before the model loads
  const input = cmd.command === 'upscale' ? await readInputImage(cmd.image) : undefined;

  for (const message of ignoredFlagNotes(cmd)) renderer.onProgress({ type: 'warning', message });
  const pipeline = await io.loadPipeline(folder, { device: cmd.device, threads: cmd.threads, onProgress: renderer.onProgress, ...cmd.modelFiles });
  try {
    if (signal.aborted) throw new AbortedError('interrupted while loading the model');
    checkModelBounds(cmd, pipeline.model.nativeLatentSize);
    const cost = (w: number, h: number): RunCost => pipeline.estimate({ prompt: cmd.prompt, width: w, height: h, method: cmd.method, steps: cmd.steps, guidance: cmd.guidance, scheduler: cmd.scheduler, stride: cmd.stride, patchPrompts: cmd.patchPrompts });
    const upSize = input ? upscaleSize(cmd.size, input.image, pipeline.model.nativeSize, cmd.force, cost) : undefined;
    const { width, height } = upSize ? { width: upSize.runWidth, height: upSize.runHeight } : resolveTargetSize(cmd.size, pipeline.model.nativeSize, cmd.force, cost);
    const options: GenerateOptions = {
      ...passedOptions(cmd), // every option the command has a flag for, as library-values.ts converted it
      stageImages: cmd.saveStages !== undefined,
      prompt: cmd.prompt,
      width,
      height,
      initLatents,
      ...(input ? { image: input.image } : {}),
    };
    const context: CliRunContext = { onProgress: renderer.onProgress, signal, stateDir: cmd.stateDir, resume: cmd.resume };
    const generated = await pipeline.generate(options, context);
    const result = upSize ? { ...generated, image: await resizeExactly(generated.image, upSize.width, upSize.height) } : generated;
    // A result that raced the interrupt is still not written: the user asked to stop.
    if (signal.aborted) throw new AbortedError('interrupted');
    renderer.finish();

    const text = formatParameters({
      options: result.report.options,
      model: isRepoId(cmd.model, io.cwd) ? cmd.model : basename(folder, '.safetensors'),
      ...(pipeline.model.schedulerClass ? { modelSchedulerClass: pipeline.model.schedulerClass } : {}),
      ...(pipeline.model.loras ? { loras: pipeline.model.loras } : {}),
      version: `accdiffusion ${packageVersion()}`,
    });
    const parameters = input ? withInputParameters(text, input, result.report.options.strength) : text;
    const files = await writeOutputs(result, { out: cmd.out, parameters, saveStages: cmd.saveStages, saveLatents: cmd.saveLatents, report: cmd.report, force: cmd.force });
    const seconds = (performance.now() - started) / 1000;
    if (cmd.json) {
      writeLine(io.stdout, JSON.stringify({ type: 'done', files, width: result.image.width, height: result.image.height, seconds }));
    } else if (!cmd.quiet) {
      writeLine(io.stderr, `wrote ${cmd.out} (${result.image.width}x${result.image.height}) in ${seconds.toFixed(1)} s`);
      for (const f of files.slice(1)) writeLine(io.stderr, `wrote ${f}`);
    }
    return files;
  } finally {
    await pipeline.dispose();
  }
}

/** Runs `info`. */
export async function runInfo(cmd: InfoCommand, io: Required<Pick<MainOptions, 'stdout' | 'env' | 'cwd'>>): Promise<void> {
  if (cmd.image !== undefined) {
    let text: string | undefined;
    try {
      text = readPngTextEntry(readFileSync(cmd.image), 'parameters');
    } catch (e) {
      if (e instanceof RangeError) throw new OptionsError(`--image: ${cmd.image}: ${e.message}`);
      throw e;
    }
    if (text === undefined) throw new OptionsError(`--image: ${cmd.image} has no "parameters" text chunk`);
    if (cmd.json) {
      const p = parseParameters(text);
      writeLine(io.stdout, JSON.stringify({ prompt: p.prompt, negativePrompt: p.negativePrompt, ...Object.fromEntries(p.values) }));
    } else {
      writeLine(io.stdout, text);
    }
    return;
  }
  const folder = resolveModelSpec(cmd.model, io.env, io.cwd);
  const { availableDevices } = await import('../engine/providers.js');
  const devices = await availableDevices();
  const info = isCheckpointFile(folder) ? describeCheckpoint(folder, cmd.modelFiles, devices) : infoView(describeModel(folder), devices);
  // a Hugging Face repo id names the model; its snapshot folder's name is only a commit hash
  writeLine(io.stdout, cmd.json ? JSON.stringify(info, null, 2) : formatInfoView(info, isRepoId(cmd.model, io.cwd) ? cmd.model : undefined));
}

/** The exit code for an error, after printing it; `stateDir`: where an interrupted run kept its finished stages. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream, interrupted: boolean, stateDir?: string): number {
  if (interrupted || e instanceof AbortedError) {
    writeLine(stderr, stateDir ? `interrupted: no output file was written; finished stages are kept in ${stateDir} (continue with --resume)` : 'interrupted: nothing was written');
    return EXIT_INTERRUPTED;
  }
  if (e instanceof AccDiffusionError) {
    writeLine(stderr, `error: ${e.message}`);
    return EXIT_USER_ERROR;
  }
  writeLine(stderr, e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : `error: ${String(e)}`);
  return EXIT_BUG;
}

/** Runs the CLI on `argv` (process.argv.slice(2)); resolves to the exit code. Never throws. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const controller = new AbortController();
  const forward = () => controller.abort();
  options.signal?.addEventListener('abort', forward);
  if (options.signal?.aborted) controller.abort();

  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints === 1) {
      writeLine(stderr, '\nstopping at the next step (Ctrl-C again to quit now)');
      controller.abort();
    } else {
      process.exit(EXIT_INTERRUPTED);
    }
  };
  if (options.handleSigint) process.on('SIGINT', onSigint);

  let renderer: ProgressRenderer | undefined;
  let json = false;
  let stateDir: string | undefined;
  try {
    // The local web page (src/server/), loaded only for this command; `help serve` is `serve --help`.
    const serveArgs = argv[0] === 'serve' ? argv.slice(1) : argv[0] === 'help' && argv[1] === 'serve' ? ['--help'] : undefined;
    if (serveArgs) {
      const { runServe } = await import('../server/serve-command.js');
      const stopped = new Promise<void>((r) => controller.signal.addEventListener('abort', () => r()));
      return await runServe(serveArgs, { stdout, stderr, cwd, env, stopped });
    }
    const cmd = parseArgs(argv, { writeOut: (s) => stdout.write(s), cwd });
    if (cmd.command === 'shown') return EXIT_OK;
    if (cmd.command === 'info') {
      await runInfo(cmd, { stdout, env, cwd });
      return EXIT_OK;
    }
    // generate and upscale share the run
    json = cmd.json;
    stateDir = cmd.stateDir;
    renderer = createProgressRenderer(cmd.quiet ? 'quiet' : cmd.json ? 'json' : 'bars', cmd.json ? stdout : stderr);
    await runGenerate(cmd, { stdout, stderr, cwd, env, loadPipeline: options.loadPipeline ?? defaultLoadPipeline }, controller.signal, renderer);
    return EXIT_OK;
  } catch (e) {
    renderer?.finish();
    const interrupted = controller.signal.aborted;
    if (json) writeLine(stdout, JSON.stringify({ type: 'error', message: e instanceof Error ? e.message : String(e), interrupted }));
    return reportError(e, stderr, interrupted, stateDir);
  } finally {
    if (options.handleSigint) process.off('SIGINT', onSigint);
    options.signal?.removeEventListener('abort', forward);
  }
}
