/**
 * The page server's routes (issue 15): the page and its assets, the JSON API over the job queue, the event
 * stream, job images and the outputs folder. Every request passes the Host check; every POST the Origin and
 * token checks (security.ts) before its body is read. Handlers throw HttpError or AccDiffusionError; the
 * server (server.ts) turns those into JSON answers and keeps running.
 */
import { createReadStream, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, sep } from 'node:path';
import { checkWindowPromptsShape } from '../patch/window-prompts.js';
import { formFields, METHOD_HELP, SCALE_PRESETS } from './form-fields.js';
import { listGallery } from './gallery.js';
import { CONTENT_TYPES, HttpError, MAX_JOB_BODY_BYTES, readJson, send, sendJson, SECURITY_HEADERS } from './http-util.js';
import type { JobQueue } from './jobs.js';
import { listModels, publicModel, type ModelEntry } from './models.js';
import { hostAllowed, isSafeAssetName, isSafeOutputName, originAllowed, TOKEN_HEADER, tokenMatches } from './security.js';
import { parseSettings, settingsFromParameters } from './settings.js';
import { readUpload } from './upload.js';

/** What the routes need from the server. */
export interface RoutesContext {
  /** The page's files by name (index.html has the %%TOKEN%% placeholder). */
  readonly assets: ReadonlyMap<string, Buffer>;
  readonly token: string;
  readonly queue: JobQueue;
  /** Absolute outputs folder and its real path. */
  readonly outputs: string;
  readonly realOutputs: string;
  readonly modelRoots: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Host names accepted besides localhost and IP literals (the --host name). */
  readonly hostNames: readonly string[];
  /** Open event streams. */
  readonly streams: Set<ServerResponse>;
}

const JOB_ID = /^[0-9a-f]{16}$/;
const ASSET_OF_JOB = /^(preview|native|stage-\d{1,3}|mask-\d{1,4})$/;

export class PageRoutes {
  /** The models offered (listed again on every config request and job). */
  private models: ModelEntry[];
  /** The listening port, set once the server listens. */
  port = 0;

  constructor(private readonly c: RoutesContext) {
    this.models = listModels(c.modelRoots, c.env);
  }

  /** Answers one request; throws HttpError (or an AccDiffusionError) for the caller to turn into JSON. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req.headers.host, this.port, this.c.hostNames)) throw new HttpError(403, 'unexpected Host header (this server answers only to localhost, IP addresses and its --host name)');
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.method === 'POST') {
      if (!originAllowed(req.headers.origin, req.headers.host!)) throw new HttpError(403, 'cross-origin request refused');
      const given = req.headers[TOKEN_HEADER];
      if (!tokenMatches(Array.isArray(given) ? given[0] : given, this.c.token)) throw new HttpError(403, 'missing or wrong page token (reload the page)');
      return this.handlePost(req, res, path);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
    if (path === '/' || path === '/index.html') return send(res, 200, CONTENT_TYPES.html!, this.c.assets.get('index.html')!.toString('utf8').replace('%%TOKEN%%', this.c.token));
    let m = /^\/assets\/([^/]+)$/.exec(path);
    if (m) {
      const name = m[1]!;
      const data = isSafeAssetName(name) ? this.c.assets.get(name) : undefined;
      if (!data || name === 'index.html') throw new HttpError(404, 'not found');
      return send(res, 200, CONTENT_TYPES[name.split('.').pop()!]!, data);
    }
    if (path === '/api/config') {
      this.models = listModels(this.c.modelRoots, this.c.env);
      return sendJson(res, 200, { fields: formFields(), models: this.models.map(publicModel), scalePresets: SCALE_PRESETS, methodHelp: METHOD_HELP });
    }
    if (path === '/api/jobs') return sendJson(res, 200, this.c.queue.list());
    if (path === '/api/gallery') return sendJson(res, 200, listGallery(this.c.outputs, this.models));
    if (path === '/api/events') return this.openStream(req, res);
    m = /^\/api\/jobs\/([^/]+)\/asset\/([^/]+)$/.exec(path);
    if (m) {
      const job = JOB_ID.test(m[1]!) ? this.c.queue.get(m[1]!) : undefined;
      const asset = job && ASSET_OF_JOB.test(m[2]!) ? job.assets.get(m[2]!) : undefined;
      if (!asset) throw new HttpError(404, 'not found');
      return send(res, 200, asset.type, asset.data);
    }
    m = /^\/outputs\/([^/]+)$/.exec(path);
    if (m) return this.sendOutput(res, m[1]!, url.searchParams.has('download'));
    throw new HttpError(404, 'not found');
  }

  private async handlePost(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await readJson(req, path === '/api/jobs' ? MAX_JOB_BODY_BYTES : undefined);
    if (path === '/api/jobs') {
      this.models = listModels(this.c.modelRoots, this.c.env);
      return sendJson(res, 200, this.c.queue.submit(parseSettings(body, this.models, await readUpload(body))));
    }
    if (path === '/api/settings-from-parameters') {
      const text = (body as { text?: unknown } | null)?.text;
      if (typeof text !== 'string') throw new HttpError(400, 'expected { "text": "<parameters text>" }');
      return sendJson(res, 200, settingsFromParameters(text, this.models));
    }
    const m = /^\/api\/jobs\/([0-9a-f]{16})\/(cancel|continue)$/.exec(path);
    if (m) {
      if (m[2] === 'cancel') return sendJson(res, 200, this.c.queue.cancel(m[1]!));
      const prompts = checkWindowPromptsShape((body as { windowPrompts?: unknown } | null)?.windowPrompts ?? {}, 'window prompts');
      return sendJson(res, 200, this.c.queue.continueWith(m[1]!, prompts));
    }
    throw new HttpError(404, 'not found');
  }

  private sendOutput(res: ServerResponse, rawName: string, download: boolean): void {
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      throw new HttpError(400, 'bad file name');
    }
    if (!isSafeOutputName(name)) throw new HttpError(404, 'not found');
    const file = join(this.c.outputs, name);
    let size: number;
    try {
      // A link inside the folder that points out of it is not followed.
      if (!realpathSync(file).startsWith(this.c.realOutputs + sep)) throw new Error('outside');
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

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(`event: jobs\ndata: ${JSON.stringify(this.c.queue.list())}\n\n`);
    this.c.streams.add(res);
    const drop = () => this.c.streams.delete(res);
    req.on('close', drop);
    res.on('error', drop);
  }
}
