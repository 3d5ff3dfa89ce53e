/**
 * `accdiffusion serve`: the local web page's HTTP server (issue 15). Serves the page's own assets (from the
 * package's web/ folder, read once at start), a JSON API over the job queue, a server-sent event stream of
 * job changes, and the images of the outputs folder. Guards (security.ts): Host check on every request,
 * Origin + token on every POST, names checked before any file lookup, body size limits. The server keeps
 * running whatever a request does: every handler's error becomes a JSON `{ error }` answer.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { AccDiffusionError } from '../errors.js';
import { HttpError, sendJson } from './http-util.js';
import { JobQueue, type LoadPipelineFn } from './jobs.js';
import { PageRoutes } from './routes.js';
import { isSafeAssetName, newToken } from './security.js';
import type { Device } from '../engine/providers.js';

export interface ServeOptions {
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 7870; 0 picks a free one). */
  readonly port?: number;
  /** Folders listing models (their model subfolders, or themselves). */
  readonly modelRoots: readonly string[];
  /** Outputs folder (must exist). */
  readonly outputs: string;
  /** The page's assets folder (default: the package's web/). */
  readonly assets?: string;
  readonly device?: Device;
  readonly threads?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Seconds between live previews (default 1). */
  readonly previewInterval?: number;
  /** For tests: a pipeline factory instead of the library's. */
  readonly loadPipeline?: LoadPipelineFn;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** The per-server token (tests use it to act as the page). */
  readonly token: string;
  readonly queue: JobQueue;
  close(): Promise<void>;
}

/** The package's web/ folder (dist/src/server → ../../../web). */
export function defaultAssetsDir(): string {
  return resolve(new URL('../../../web', import.meta.url).pathname);
}

function loadAssets(dir: string): Map<string, Buffer> {
  const assets = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) if (isSafeAssetName(name) && statSync(join(dir, name)).isFile()) assets.set(name, readFileSync(join(dir, name)));
  if (!assets.has('index.html')) throw new AccDiffusionError(`${dir}: the page's index.html is missing`);
  return assets;
}

/** Starts the server; resolves once it listens. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  const outputs = resolve(o.outputs);
  if (!statSync(outputs).isDirectory()) throw new AccDiffusionError(`${outputs} is not a folder`);
  const realOutputs = realpathSync(outputs);
  const assets = loadAssets(o.assets ?? defaultAssetsDir());
  const token = newToken();
  const env = o.env ?? process.env;
  const streams = new Set<ServerResponse>();
  const queue = new JobQueue({
    outputs, device: o.device ?? 'cpu', ...(o.threads ? { threads: o.threads } : {}), ...(o.loadPipeline ? { loadPipeline: o.loadPipeline } : {}),
    ...(o.previewInterval !== undefined ? { previewInterval: o.previewInterval } : {}),
    onChange: (job) => {
      const line = `event: job\ndata: ${JSON.stringify(job)}\n\n`;
      for (const s of streams) s.write(line);
    },
  });
  const hostNames = host === '0.0.0.0' || host === '::' ? [] : [host];

  const routes = new PageRoutes({ assets, token, queue, outputs, realOutputs, modelRoots: o.modelRoots, env, hostNames, streams });

  const server: Server = createServer((req, res) => {
    routes.handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof AccDiffusionError ? 400 : 500;
      if (status === 500) process.stderr.write(`accdiffusion serve: ${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      const message = status === 500 ? 'internal error (see the server\'s log)' : (e as Error).message;
      // A refused body is not read further; the connection closes after the answer.
      if (status === 413) res.setHeader('Connection', 'close');
      sendJson(res, status, { error: message });
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  const heartbeat = setInterval(() => {
    for (const s of streams) s.write(': keep-alive\n\n');
  }, 15000);
  heartbeat.unref();

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 7870, host, () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  routes.port = port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    token,
    queue,
    close: async () => {
      clearInterval(heartbeat);
      for (const s of streams) s.end();
      streams.clear();
      await queue.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}
