/**
 * `accdiffusion serve` on the command line: defaults (127.0.0.1, port 7870, ./outputs), one-line errors for
 * bad flags, the address printed, the warning for non-loopback hosts, and a clean stop.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { OptionsError } from '../../src/errors.js';
import { parseServeArgs, runServe } from '../../src/server/serve-command.js';
import { modelsDir } from '../helpers/paths.js';

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }), text: () => text };
}

describe('accdiffusion serve (command line)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accd-serve-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to loopback, port 7870 and ./outputs, and refuses bad flags in one line', () => {
    const o = parseServeArgs([], { stdout: sink().stream, cwd: dir })!;
    assert.equal(o.host, '127.0.0.1');
    assert.equal(o.port, 7870);
    assert.equal(o.outputs, join(dir, 'outputs'));
    assert.equal(o.modelRoots.length, 1, 'the bundled models folder');
    assert.deepEqual(parseServeArgs(['--models', modelsDir, '--port', '0'], { stdout: sink().stream, cwd: dir })!.modelRoots.slice(0, 1), [modelsDir]);
    for (const [args, message] of [[['--port', 'x'], /--port must be a port number/], [['--port', '70000'], /--port/], [['--models', join(dir, 'nope')], /is not a folder/], [['--bogus'], /unknown option '--bogus'/], [['--device', 'tpu'], /tpu/]] as const) {
      assert.throws(() => parseServeArgs(args, { stdout: sink().stream, cwd: dir }), (e: unknown) => e instanceof OptionsError && message.test(e.message) && !e.message.includes('\n'), args.join(' '));
    }
    const help = sink();
    assert.equal(parseServeArgs(['--help'], { stdout: help.stream, cwd: dir }), undefined);
    assert.match(help.text(), /--host <address>.*0\.0\.0\.0 exposes/s);
  });

  it('prints the address, warns for every-interface hosts, and stops cleanly', async () => {
    const err = sink();
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const run = runServe(['--host', '0.0.0.0', '--port', '0', '--models', modelsDir, '--outputs', 'out'], { stdout: sink().stream, stderr: err.stream, cwd: dir, env: { HF_HUB_CACHE: join(dir, 'hub') }, stopped });
    while (!err.text().includes('warning')) await new Promise((r) => setTimeout(r, 20));
    const url = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(err.text())![0];
    assert.equal((await fetch(url)).status, 200);
    assert.match(err.text(), /warning: listening on 0\.0\.0\.0: anyone who can reach this machine/);
    assert.ok(existsSync(join(dir, 'out')), 'the outputs folder is created');
    stop();
    assert.equal(await run, 0);
    await assert.rejects(fetch(url));
  });

  it('is reached through the main CLI, with user errors as one line and exit code 2', async () => {
    const err = sink();
    assert.equal(await main(['serve', '--port', 'abc'], { stdout: sink().stream, stderr: err.stream, cwd: dir }), 2);
    assert.equal(err.text(), 'error: --port must be a port number (0-65535), got "abc"\n');
    // `help serve` shows serve's help, as `help generate` does generate's
    const out = sink();
    assert.equal(await main(['help', 'serve'], { stdout: out.stream, stderr: sink().stream, cwd: dir }), 0);
    assert.match(out.text(), /Usage: accdiffusion serve/);
    assert.match(out.text(), /--port/);
  });
});
