/**
 * The `accdiffusion serve` command line: flags → startServer, prints the address, runs until Ctrl-C.
 * Declared with commander like the other commands (src/cli/flags.ts), kept here so the CLI's own table
 * stays as it is; src/cli/main.ts hands `serve` argv over.
 */
import { Command, CommanderError, Option } from 'commander';
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { OptionsError } from '../errors.js';
import { CLI_DEVICES } from '../cli/flags.js';
import { defaultModelPath } from '../loading/package-root.js';
import { parseNumber, positiveInt } from '../cli/arg-values.js';
import type { Device } from '../engine/providers.js';
import { startServer, type RunningServer } from './server.js';

export interface ServeIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  readonly stopped?: Promise<void>;
}

/** Parses `serve` flags (argv after "serve"); returns undefined after printing --help. */
export function parseServeArgs(argv: readonly string[], io: Pick<ServeIo, 'stdout' | 'cwd'>): Parameters<typeof startServer>[0] | undefined {
  const cmd = new Command('accdiffusion serve')
    .description('serve the local web page: generate, watch, understand and steer runs in the browser')
    .option('--host <address>', 'interface to listen on; 0.0.0.0 exposes the page to your network (see README)', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', '7870')
    .option('--models <dir...>', 'folders to list models from (their model subfolders, or themselves); the bundled model and the Hugging Face cache are always listed')
    .option('--outputs <dir>', 'folder the images and reports go to (created if missing)', 'outputs')
    .addOption(new Option('--device <name>', `execution provider: ${CLI_DEVICES.join(', ')}`).choices(CLI_DEVICES as string[]).default('cpu'))
    .option('--threads <n>', 'intra-op threads per session')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: () => {}, outputError: () => {} })
    .allowExcessArguments(false);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed') return undefined;
      throw new OptionsError(e.message.replace(/^error: /, '').split('\n')[0]!);
    }
    throw e;
  }
  const o = cmd.opts<{ host: string; port: string; models?: string[]; outputs: string; device: Device; threads?: string }>();
  const port = parseNumber('--port', o.port, 'integer', (x) => x >= 0 && x <= 65535, 'a port number (0-65535)')!;
  const outputs = resolve(io.cwd, o.outputs);
  const threads = positiveInt('--threads', o.threads);
  const roots = [...(o.models ?? []).map((d) => resolve(io.cwd, d)), resolve(defaultModelPath(), '..')];
  for (const r of roots) {
    try {
      if (!statSync(r).isDirectory()) throw new Error();
    } catch {
      throw new OptionsError(`--models: ${r} is not a folder`);
    }
  }
  return { host: o.host, port, modelRoots: roots, outputs, device: o.device, ...(threads ? { threads } : {}) };
}

/** Runs `serve` until stopped; resolves to the exit code. */
export async function runServe(argv: readonly string[], io: ServeIo): Promise<number> {
  const options = parseServeArgs(argv, io);
  if (!options) return 0;
  mkdirSync(options.outputs, { recursive: true });
  let server: RunningServer;
  try {
    server = await startServer({ ...options, env: io.env });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new OptionsError(`port ${options.port} is in use (choose another with --port)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new OptionsError(`--host ${options.host} is not an address of this machine`);
    throw e;
  }
  io.stderr.write(`accdiffusion serve: ${server.url}  (outputs: ${options.outputs}; Ctrl-C stops)\n`);
  if (options.host !== '127.0.0.1' && options.host !== 'localhost' && options.host !== '::1') {
    io.stderr.write(`warning: listening on ${options.host}: anyone who can reach this machine on port ${server.port} can use the page, run jobs and read the outputs folder\n`);
  }
  const stopped = io.stopped ?? new Promise<void>((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
  // A stray rejection in a request's or job's side work is logged; the server keeps serving.
  const onRejection = (e: unknown) => io.stderr.write(`accdiffusion serve: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.on('unhandledRejection', onRejection);
  try {
    await stopped;
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  io.stderr.write('accdiffusion serve: stopping\n');
  await server.close();
  return 0;
}
