/**
 * Helpers of the web page's tests (issue 15): a server on a free port over the fixture models with a
 * temporary outputs folder and an empty Hugging Face cache, and raw HTTP requests (fetch would normalise
 * paths and refuses to set Host, which the security tests must control).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServeOptions } from '../../src/server/server.js';
import { modelsDir } from '../helpers/paths.js';

export interface TestServer extends RunningServer {
  readonly outputs: string;
  /** Stops the server and removes its folders. */
  stop(): Promise<void>;
}

export async function startTestServer(extra: Partial<ServeOptions> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'accd-serve-'));
  const outputs = join(dir, 'outputs');
  const hub = join(dir, 'hub');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(outputs);
  mkdirSync(hub);
  const server = await startServer({ port: 0, modelRoots: [modelsDir], outputs, env: { HF_HUB_CACHE: hub }, threads: 1, ...extra });
  return {
    ...server,
    outputs,
    close: server.close,
    stop: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request with exactly these path and headers. */
export function raw(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve({ status: -1, headers: {}, body: '' }) : reject(e)));
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** Headers of a request from the server's own page. */
export function pageHeaders(server: RunningServer): Record<string, string> {
  return { 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${server.port}`, 'X-AccDiffusion-Token': server.token };
}
