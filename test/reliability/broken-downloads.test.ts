/**
 * Broken and incomplete downloads (issue 11.4): every file of the tiny-sd and tiny-sdxl folders, laid out as a
 * Hugging Face cache snapshot, is broken in each way a download leaves a model broken — a Git LFS pointer
 * (`git clone` without LFS), a saved HTML error page, an empty file, a preallocated all-zero file, a file cut
 * in half (interrupted), a broken link into blobs/ (cleaned cache), and a missing file next to an unfinished
 * `*.incomplete` blob. Each case must end in one AccDiffusionError line that names the file and the cause
 * (the library's loadPipeline), and the CLI answers with that line and exit 2 (a sample through main()).
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { main, EXIT_USER_ERROR } from '../../src/cli/main.js';
import { AccDiffusionError } from '../../src/errors.js';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'accdiffusion-downloads-'));
after(() => rmSync(root, { recursive: true, force: true }));

const LFS = 'version https://git-lfs.github.com/spec/v1\noid sha256:3a1b5c0e9f6d2e4a8b7c1d0e3f5a6b9c2d4e6f8a0b1c3d5e7f9a2b4c6d8e0f1a\nsize 3438167536\n';
const HTML = '<!DOCTYPE html>\n<html class=""><head><title>Access to model is restricted</title></head><body>401</body></html>\n';

/** Each kind: how to break `file`, and what the message must say. */
const KINDS: Record<string, { cause: RegExp; apply: (file: string, blobs: string) => void }> = {
  'lfs pointer': { cause: /is a Git LFS pointer .*git lfs pull/, apply: (f) => writeFileSync(f, LFS) },
  'html page': { cause: /is an HTML\/XML page .*error or login page/, apply: (f) => writeFileSync(f, HTML) },
  empty: { cause: /is empty \(0 bytes\): an interrupted download/, apply: (f) => writeFileSync(f, '') },
  zeros: { cause: /only zero bytes: an interrupted or preallocated download/, apply: (f) => writeFileSync(f, Buffer.alloc(statSync(f).size)) },
  truncated: {
    cause: /truncated|ends early|interrupted download/,
    apply: (f) => writeFileSync(f, readFileSync(f).subarray(0, Math.floor(statSync(f).size / 2))),
  },
  'broken link': {
    cause: /is a broken link to .*blobs.*interrupted download or a cleaned cache/,
    apply: (f, blobs) => {
      rmSync(f);
      symlinkSync(join(blobs, 'f0e1d2c3b4a5968778695a4b3c2d1e0f00112233'), f);
    },
  },
  'missing, unfinished blob': {
    cause: /unfinished download.*\.incomplete.*interrupted/,
    apply: (f, blobs) => {
      rmSync(f);
      writeFileSync(join(blobs, '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567.incomplete'), 'partial');
    },
  },
};

/** Files whose absence is no error (optional tokenizer files). */
const OPTIONAL = /special_tokens_map\.json$|tokenizer_config\.json$/;
/** Files whose half is still a valid file of a smaller model: merges.txt may be cut between lines. */
const TRUNCATION_UNDETECTABLE = /merges\.txt$/;

function filesOf(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesOf(dir, join(rel, e.name)) : [join(rel, e.name)]));
}

/** A fresh cache layout models--acme--<name>/snapshots/<hash>/ holding a copy of `fixture`. */
function snapshotOf(fixture: string, name: string): { snap: string; blobs: string } {
  const repo = join(root, `models--acme--${name}`);
  rmSync(repo, { recursive: true, force: true });
  const snap = join(repo, 'snapshots', 'c'.repeat(40));
  const blobs = join(repo, 'blobs');
  mkdirSync(blobs, { recursive: true });
  cpSync(fixture, snap, { recursive: true });
  return { snap, blobs };
}

for (const [name, fixture] of [['tiny-sd', tinySd], ['tiny-sdxl', tinySdxl]] as const) {
  test(`${name}: every file broken every way a download breaks it ends in one line naming file and cause`, { timeout: 600_000 }, async (t) => {
    let cases = 0;
    for (const rel of filesOf(fixture)) {
      for (const [kind, k] of Object.entries(KINDS)) {
        if (kind === 'truncated' && TRUNCATION_UNDETECTABLE.test(rel)) continue;
        const { snap, blobs } = snapshotOf(fixture, name);
        const file = join(snap, rel);
        k.apply(file, blobs);
        const what = `${name} ${rel} (${kind})`;
        let error: unknown;
        try {
          const p = await loadPipeline(snap, { threads: 1 });
          await p.dispose();
        } catch (e) {
          error = e;
        }
        cases++;
        if (error === undefined) {
          assert.ok(kind.startsWith('missing') && OPTIONAL.test(rel), `${what}: loaded without an error`);
          continue;
        }
        assert.ok(error instanceof AccDiffusionError, `${what}: ${String((error as Error)?.stack ?? error)}`);
        const msg = (error as Error).message;
        assert.ok(!msg.includes('\n'), `${what}: more than one line: ${msg}`);
        assert.ok(msg.includes(kind.startsWith('missing') ? relative(snap, file).split('/')[0]! : file), `${what}: names no file: ${msg}`);
        assert.match(msg, k.cause, `${what}: ${msg}`);
      }
    }
    t.diagnostic(`${cases} broken folders`);
  });
}

test('the CLI answers a broken download with the one line and exit 2', async () => {
  const { snap } = snapshotOf(tinySd, 'cli');
  writeFileSync(join(snap, 'unet', 'diffusion_pytorch_model.safetensors'), LFS);
  let err = '';
  const stderr = { write: (s: string) => ((err += s), true) } as unknown as NodeJS.WritableStream;
  const stdout = { write: () => true } as unknown as NodeJS.WritableStream;
  const code = await main(['generate', '--model', snap, '--prompt', 'x', '--width', '64', '--height', '64', '--steps', '1', '--quiet', '--out', join(root, 'o.png')], { stdout, stderr, cwd: root });
  assert.equal(code, EXIT_USER_ERROR);
  assert.match(err, /^error: .*unet\/diffusion_pytorch_model\.safetensors: is a Git LFS pointer \(\d+ bytes\), not the file: .*\n$/);
});
