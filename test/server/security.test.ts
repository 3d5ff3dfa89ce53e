/**
 * The local server's guards at the HTTP level (issue 15 security): wrong Host (DNS rebinding) refused,
 * cross-origin and token-less POSTs refused, path traversal in any form refused, model choices limited to
 * the listed ones, body size limits, and the server still answering after every bad request.
 */
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostAllowed, isSafeOutputName } from '../../src/server/security.js';
import { pageHeaders, raw, startTestServer, type TestServer } from './server-helpers.js';

describe('serve: security', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    writeFileSync(join(server.outputs, 'ok.png'), 'not really a png');
  });
  after(async () => server.stop());

  const settings = JSON.stringify({ model: 'tiny-sdxl', sizeMode: 'scale', scale: 2, prompt: '' });

  it('serves the page with its token to the expected Host names only', async () => {
    const page = await raw(server.port, 'GET', '/');
    assert.equal(page.status, 200);
    assert.ok(page.body.includes(`content="${server.token}"`));
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
    for (const host of [`localhost:${server.port}`, `[::1]:${server.port}`]) assert.equal((await raw(server.port, 'GET', '/api/jobs', { Host: host })).status, 200, host);
    // A DNS-rebinding page arrives with its own name; a wrong port is another server.
    for (const host of [`evil.example:${server.port}`, `localhost.evil.example:${server.port}`, '127.0.0.1:1', 'evil.example', `127.0.0.1:${server.port}@evil.example`]) {
      const r = await raw(server.port, 'GET', '/', { Host: host });
      assert.equal(r.status, 403, host);
      assert.ok(!r.body.includes(server.token), host);
    }
    assert.equal((await raw(server.port, 'POST', '/api/jobs', { ...pageHeaders(server), Host: `evil.example:${server.port}` }, settings)).status, 403);
  });

  it('refuses cross-origin and token-less POSTs', async () => {
    const ok = pageHeaders(server);
    const cases: Array<[string, Record<string, string>]> = [
      ['other origin', { ...ok, Origin: 'http://evil.example' }],
      ['other port', { ...ok, Origin: 'http://127.0.0.1:1' }],
      ['no origin', { 'Content-Type': 'application/json', 'X-AccDiffusion-Token': server.token }],
      ['no token', { 'Content-Type': 'application/json', Origin: ok.Origin! }],
      ['wrong token', { ...ok, 'X-AccDiffusion-Token': 'f'.repeat(64) }],
    ];
    for (const [what, headers] of cases) {
      const r = await raw(server.port, 'POST', '/api/jobs', headers, settings);
      assert.equal(r.status, 403, what);
    }
    assert.equal((await raw(server.port, 'GET', '/api/jobs')).body, '[]', 'no job was queued');
    // The page's own request gets through to the settings check (empty prompt).
    const r = await raw(server.port, 'POST', '/api/jobs', ok, settings);
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).error, /Prompt must not be empty/);
  });

  it('refuses path traversal in any form and serves only outputs and assets', async () => {
    symlinkSync('/etc/passwd', join(server.outputs, 'link.png'));
    const paths = [
      '/outputs/../package.json', '/outputs/..%2F..%2Fpackage.json', '/outputs/%2e%2e%2fpackage.json', '/outputs/..%5cpackage.json',
      '/outputs/%252e%252e%252fpackage.json', '/outputs/.hidden.png', '/outputs/link.png', '/outputs/ok.png%00.txt', '/outputs/%ff.png',
      '/assets/../package.json', '/assets/..%2Fpackage.json', '/assets/index.html', '/../../etc/passwd', '/api/jobs/..%2F..%2F/asset/preview',
      '/api/jobs/0123456789abcdef/asset/..%2Fpreview', '/outputs/', '/outputs//etc/passwd',
    ];
    for (const p of paths) {
      const r = await raw(server.port, 'GET', p);
      assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
      assert.ok(!/root:|"name": "accdiffusion"/.test(r.body), p);
    }
    assert.equal((await raw(server.port, 'GET', '/outputs/ok.png')).body, 'not really a png');
    assert.equal((await raw(server.port, 'GET', '/assets/app.js')).status, 200);
    assert.ok(!isSafeOutputName('../x.png') && !isSafeOutputName('a/b.png') && !isSafeOutputName('x.js') && isSafeOutputName('a-1.png'));
  });

  it('takes models only from its list', async () => {
    for (const model of ['../../etc', '/etc', 'tiny-sdxl/../tiny-sd', 'nobody/nothing']) {
      const r = await raw(server.port, 'POST', '/api/jobs', pageHeaders(server), JSON.stringify({ model, sizeMode: 'scale', scale: 2, prompt: 'x' }));
      assert.equal(r.status, 400, model);
      assert.match(JSON.parse(r.body).error, /unknown model/);
    }
    const config = JSON.parse((await raw(server.port, 'GET', '/api/config')).body) as { models: Array<Record<string, unknown>> };
    assert.deepEqual(config.models.map((m) => m.id), ['tiny-sd', 'tiny-sdxl']);
    assert.ok(config.models.every((m) => !('path' in m)), 'no folder paths reach the page');
  });

  it('limits bodies, refuses bad JSON and bad settings, and keeps answering', async () => {
    const big = await raw(server.port, 'POST', '/api/settings-from-parameters', pageHeaders(server), Buffer.alloc(2 * 1024 * 1024, 0x20));
    assert.ok(big.status === 413 || big.status === -1, `status ${big.status}`);
    assert.equal((await raw(server.port, 'POST', '/api/jobs', pageHeaders(server), '{not json')).status, 400);
    assert.equal((await raw(server.port, 'POST', '/api/jobs', { ...pageHeaders(server), 'Content-Type': 'text/plain' }, settings)).status, 415);
    const bad = await raw(server.port, 'POST', '/api/jobs', pageHeaders(server), JSON.stringify({ model: 'tiny-sdxl', sizeMode: 'scale', scale: 2, prompt: 'x', steps: -3 }));
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).error, /Steps must be in 1\.\.1000/);
    assert.equal((await raw(server.port, 'POST', '/api/jobs/0123456789abcdef/cancel', pageHeaders(server), '{}')).status, 400);
    assert.equal((await raw(server.port, 'DELETE', '/api/jobs')).status, 405);
    assert.equal((await raw(server.port, 'GET', '/api/jobs')).status, 200);
  });

  it('accepts only this server\'s Host names', () => {
    assert.ok(hostAllowed('127.0.0.1:80', 80, []) && hostAllowed('127.0.0.1', 80, []) && hostAllowed('box.lan:8', 8, ['box.lan']));
    assert.ok(!hostAllowed('box.lan:8', 8, []) && !hostAllowed('127.0.0.1:8@evil', 8, []) && !hostAllowed(undefined, 8, []));
  });
});
