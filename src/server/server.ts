/**
 * `accdiffusion serve`: the local web page's HTTP server (issue 15). Serves the page's own assets (from the
 * package's web/ folder, read once at start), a JSON API over the job queue, a server-sent event stream of
 * job changes, and the images of the outputs folder. Guards (security.ts): Host check on every request,
 * Origin + token on every POST, names checked before any file lookup, body size limits. The server keeps
 * running whatever a request does: every handler's error becomes a JSON `{ error }` answer.
 */
import { createReadStream, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import { AccDiffusionError } from '../errors.js';
import { checkWindowPromptsShape } from '../pipeline/window-prompts.js';
import { formFields, METHOD_HELP, SCALE_PRESETS } from './form-fields.js';
import { listGallery } from './gallery.js';
import { CONTENT_TYPES, HttpError, readJson, send, sendJson, SECURITY_HEADERS } from './http-util.js';
import { JobQueue, type LoadPipelineFn } from './jobs.js';
import { listModels, publicModel, type ModelEntry } from './models.js';
import { hostAllowed, isSafeAssetName, isSafeOutputName, newToken, originAllowed, TOKEN_HEADER, tokenMatches } from './security.js';
import { parseSettings, settingsFromParameters } from './settings.js';
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

const JOB_ID = /^[0-9a-f]{16}$/;
const ASSET_OF_JOB = /^(preview|native|stage-\d{1,3}|mask-\d{1,4})$/;

/** Starts the server; resolves once it listens. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  const outputs = resolve(o.outputs);
  if (!statSync(outputs).isDirectory()) throw new AccDiffusionError(`${outputs} is not a folder`);
  const realOutputs = realpathSync(outputs);
  const assets = loadAssets(o.assets ?? defaultAssetsDir());
  const token = newToken();
  const env = o.env ?? process.env;
  let models: ModelEntry[] = listModels(o.modelRoots, env);
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
  let port = 0;

  const page = (): string => assets.get('index.html')!.toString('utf8').replace('%%TOKEN%%', token);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host, port, hostNames)) throw new HttpError(403, 'unexpected Host header (this server answers only to localhost, IP addresses and its --host name)');
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.method === 'POST') {
      if (!originAllowed(req.headers.origin, req.headers.host!)) throw new HttpError(403, 'cross-origin request refused');
      const given = req.headers[TOKEN_HEADER];
      if (!tokenMatches(Array.isArray(given) ? given[0] : given, token)) throw new HttpError(403, 'missing or wrong page token (reload the page)');
      return handlePost(req, res, path);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
    if (path === '/' || path === '/index.html') return send(res, 200, CONTENT_TYPES.html!, page());
    let m = /^\/assets\/([^/]+)$/.exec(path);
    if (m) {
      const name = m[1]!;
      const data = isSafeAssetName(name) ? assets.get(name) : undefined;
      if (!data || name === 'index.html') throw new HttpError(404, 'not found');
      return send(res, 200, CONTENT_TYPES[name.split('.').pop()!]!, data);
    }
    if (path === '/api/config') {
      models = listModels(o.modelRoots, env);
      return sendJson(res, 200, { fields: formFields(), models: models.map(publicModel), scalePresets: SCALE_PRESETS, methodHelp: METHOD_HELP });
    }
    if (path === '/api/jobs') return sendJson(res, 200, queue.list());
    if (path === '/api/gallery') return sendJson(res, 200, listGallery(outputs, models));
    if (path === '/api/events') return openStream(req, res);
    m = /^\/api\/jobs\/([^/]+)\/asset\/([^/]+)$/.exec(path);
    if (m) {
      const job = JOB_ID.test(m[1]!) ? queue.get(m[1]!) : undefined;
      const asset = job && ASSET_OF_JOB.test(m[2]!) ? job.assets.get(m[2]!) : undefined;
      if (!asset) throw new HttpError(404, 'not found');
      return send(res, 200, asset.type, asset.data);
    }
    m = /^\/outputs\/([^/]+)$/.exec(path);
    if (m) return sendOutput(res, m[1]!, url.searchParams.has('download'));
    throw new HttpError(404, 'not found');
  }

  async function handlePost(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await readJson(req);
    if (path === '/api/jobs') {
      models = listModels(o.modelRoots, env);
      return sendJson(res, 200, queue.submit(parseSettings(body, models)));
    }
    if (path === '/api/settings-from-parameters') {
      const text = (body as { text?: unknown } | null)?.text;
      if (typeof text !== 'string') throw new HttpError(400, 'expected { "text": "<parameters text>" }');
      return sendJson(res, 200, settingsFromParameters(text, models));
    }
    const m = /^\/api\/jobs\/([0-9a-f]{16})\/(cancel|continue)$/.exec(path);
    if (m) {
      if (m[2] === 'cancel') return sendJson(res, 200, queue.cancel(m[1]!));
      const prompts = checkWindowPromptsShape((body as { windowPrompts?: unknown } | null)?.windowPrompts ?? {}, 'window prompts');
      return sendJson(res, 200, queue.continueWith(m[1]!, prompts));
    }
    throw new HttpError(404, 'not found');
  }

  function sendOutput(res: ServerResponse, rawName: string, download: boolean): void {
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      throw new HttpError(400, 'bad file name');
    }
    if (!isSafeOutputName(name)) throw new HttpError(404, 'not found');
    const file = join(outputs, name);
    let size: number;
    try {
      // A link inside the folder that points out of it is not followed.
      if (!realpathSync(file).startsWith(realOutputs + sep)) throw new Error('outside');
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      throw new HttpError(404, 'not found');
    }
    const type = CONTENT_TYPES[name.split('.').pop()!.toLowerCase()]!;
    res.writeHead(200, {
      ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(size), 'Cache-Control': 'no-cache',
      ...(download ? { 'Content-Disposition': `attachment; filename="${name}"` } : {}),
    });
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(`event: jobs\ndata: ${JSON.stringify(queue.list())}\n\n`);
    streams.add(res);
    const drop = () => streams.delete(res);
    req.on('close', drop);
    res.on('error', drop);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
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
  port = (server.address() as AddressInfo).port;
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
