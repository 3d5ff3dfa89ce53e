/** `accdiffusion generate --json | head -1`: the reader going away ends no run with a stack trace; the image is still written. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tinySdxl } from '../helpers/paths.js';
import { binPath, tempDir } from './e2e-helpers.js';

test('stdout closed after the first --json line: exit 0, no error on stderr, the PNG written', async () => {
  const { dir, remove } = tempDir('closed-pipe');
  try {
    const out = join(dir, 'x.png');
    const child = spawn(process.execPath, [binPath, 'generate', '--model', tinySdxl, '--prompt', 'x', '--steps', '2', '--scale', '2', '--threads', '1', '--json', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // read one chunk, then close our end as `head -1` does
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    assert.ok(existsSync(out));
  } finally {
    remove();
  }
});
