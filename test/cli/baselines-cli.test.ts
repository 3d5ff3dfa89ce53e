/**
 * The Attn-SF and ScaleCrafter methods through the real CLI binary (issue 6 "end-to-end CLI runs on the
 * fixture models at 2x"): exit code 0, a PNG of twice the native size, and the method in the report.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { repoRoot, tinySd, tinySdxl } from '../helpers/paths.js';

const cases = [
  { model: tinySd, name: 'tiny-sd', native: 64 },
  { model: tinySdxl, name: 'tiny-sdxl', native: 256 },
] as const;

for (const c of cases) {
  for (const method of ['attn-sf', 'scalecrafter'] as const) {
    test(`accdiffusion generate --method ${method} --scale 2 on ${c.name}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `accdiffusion-${method}-`));
      try {
        const out = join(dir, 'out.png');
        const report = join(dir, 'report.json');
        const args = ['bin/accdiffusion.js', 'generate', '--model', c.model, '--method', method, '--prompt', 'a corgi', '--scale', '2', '--steps', '2', '--seed', '1', '--out', out, '--report', report, '--quiet'];
        const r = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' }, timeout: 120_000 });
        assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
        const meta = await sharp(out).metadata();
        assert.equal(meta.width, 2 * c.native);
        assert.equal(meta.height, 2 * c.native);
        const rep = JSON.parse(readFileSync(report, 'utf8')) as { options: { method: string }; stages: unknown[]; unetCalls: number };
        assert.equal(rep.options.method, method);
        assert.equal(rep.stages.length, 1);
        assert.equal(rep.unetCalls, 4); // 2 steps × CFG pair
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
