/**
 * Tests of src/weights/hf-cache.ts on a real Hugging Face hub cache layout built in a temp dir: tiny-sdxl's
 * files stored once in blobs/<sha256>, snapshot entries as relative symlinks into ../../blobs, refs/ files
 * holding commit hashes. Also checks that weights found through a snapshot live in the real blobs folder,
 * which onnxruntime needs (it resolves symlinks and refuses `..` in external-data paths).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, lstatSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { hfHubCache, resolveModel } from '../../src/weights/hf-cache.js';
import { openModelFolder } from '../../src/weights/diffusers-folder.js';
import { openComponentWeights } from '../../src/weights/component-weights.js';
import { describeModel } from '../../src/loading/model-info.js';
import { ConfigError } from '../../src/errors.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const MAIN = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef'; // 40 hex
const OTHER = 'b'.repeat(40);

function listFiles(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(dir, join(rel, e.name)) : [join(rel, e.name)]);
}

/** Writes models--<org>--<name> for the model folder src under cache, as huggingface_hub does. */
function buildCacheRepo(cache: string, org: string, name: string, src: string, commit: string, refs: Record<string, string>): string {
  const repo = join(cache, `models--${org}--${name}`);
  const blobs = join(repo, 'blobs');
  mkdirSync(blobs, { recursive: true });
  const snapshot = join(repo, 'snapshots', commit);
  for (const rel of listFiles(src)) {
    const bytes = readFileSync(join(src, rel));
    const sha = createHash('sha256').update(bytes).digest('hex');
    const blob = join(blobs, sha);
    if (!existsSync(blob)) writeFileSync(blob, bytes);
    const link = join(snapshot, rel);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), blob), link);
  }
  for (const [ref, hash] of Object.entries(refs)) {
    mkdirSync(dirname(join(repo, 'refs', ref)), { recursive: true });
    writeFileSync(join(repo, 'refs', ref), hash);
  }
  return repo;
}

function throwsConfig(fn: () => unknown, ...parts: string[]): string {
  let message = '';
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(p)}`);
    message = e.message;
    return true;
  });
  return message;
}

test('a repo id resolves to its snapshot in a real cache layout; weights resolve into blobs/', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'acc-hf-')));
  try {
    const cache = join(root, 'hub');
    const repo = buildCacheRepo(cache, 'acme', 'tiny-sdxl', tinySdxl, MAIN, { main: `${MAIN}\n` });
    const unetLink = join(repo, 'snapshots', MAIN, 'unet', 'diffusion_pytorch_model.safetensors');
    assert.ok(lstatSync(unetLink).isSymbolicLink());
    assert.ok(readlinkSync(unetLink).startsWith('../../../blobs/'));

    const snapshot = resolveModel('acme/tiny-sdxl', { env: { HF_HUB_CACHE: cache }, cwd: root });
    assert.equal(snapshot, join(repo, 'snapshots', MAIN));

    const folder = openModelFolder(snapshot);
    assert.equal(folder.nativeSize, 256);
    assert.equal(folder.textEncoderCount, 2);

    const weights = openComponentWeights(folder.unet.dir);
    assert.equal(weights.weightsDir, join(repo, 'blobs'));
    const ref = weights.get('conv_in.weight')!;
    assert.match(ref.where.location, /^[0-9a-f]{64}$/);
    assert.ok(!ref.where.location.includes('..'));
    assert.ok(existsSync(join(weights.weightsDir, ref.where.location)));

    // Parameter counts read through the symlinks match the fixture's, and shared blobs count once on disk.
    const info = describeModel(folder);
    assert.equal(info.components.find((c) => c.name === 'unet')!.weights!.parameterCount, 809_284);
    const blobBytes = readdirSync(join(repo, 'blobs')).reduce((a, b) => a + readFileSync(join(repo, 'blobs', b)).length, 0);
    assert.equal(info.diskBytes, blobBytes);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('@revision: a branch ref, a nested ref, and a cached commit hash', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'acc-hf-')));
  try {
    const cache = join(root, 'hub');
    const repo = buildCacheRepo(cache, 'acme', 'm', tinySdxl, MAIN, { main: MAIN, 'pr/1': OTHER });
    buildCacheRepo(cache, 'acme', 'm', tinySd, OTHER, { fp16: OTHER });
    const env = { HF_HUB_CACHE: cache };
    assert.equal(resolveModel('acme/m', { env, cwd: root }), join(repo, 'snapshots', MAIN));
    assert.equal(resolveModel('acme/m@main', { env, cwd: root }), join(repo, 'snapshots', MAIN));
    assert.equal(resolveModel('acme/m@fp16', { env, cwd: root }), join(repo, 'snapshots', OTHER));
    assert.equal(resolveModel('acme/m@pr/1', { env, cwd: root }), join(repo, 'snapshots', OTHER));
    assert.equal(resolveModel(`acme/m@${OTHER}`, { env, cwd: root }), join(repo, 'snapshots', OTHER));
    assert.equal(openModelFolder(resolveModel('acme/m@fp16', { env, cwd: root })).pipelineClass, 'StableDiffusionPipeline');
    throwsConfig(() => resolveModel('acme/m@../../x', { env, cwd: root }), 'not a valid branch');
    const msg = throwsConfig(() => resolveModel('acme/m@v2', { env, cwd: root }), join(repo, 'refs', 'v2'), MAIN, OTHER, 'never downloaded');
    assert.ok(msg.includes(join(root, 'acme', 'm@v2')), msg);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('cache folder: HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'acc-hf-')));
  try {
    const home = join(root, 'home');
    const viaHome = buildCacheRepo(join(home, '.cache', 'huggingface', 'hub'), 'acme', 'm', tinySdxl, MAIN, { main: MAIN });
    const viaHfHome = buildCacheRepo(join(root, 'hfhome', 'hub'), 'acme', 'm', tinySdxl, OTHER, { main: OTHER });
    assert.equal(resolveModel('acme/m', { env: {}, home, cwd: root }), join(viaHome, 'snapshots', MAIN));
    assert.equal(resolveModel('acme/m', { env: { HF_HOME: join(root, 'hfhome') }, home, cwd: root }), join(viaHfHome, 'snapshots', OTHER));
    assert.equal(
      resolveModel('acme/m', { env: { HF_HOME: join(root, 'hfhome'), HF_HUB_CACHE: join(home, '.cache', 'huggingface', 'hub') }, home, cwd: root }),
      join(viaHome, 'snapshots', MAIN),
    );
    assert.deepEqual(hfHubCache({ env: { XDG_CACHE_HOME: '/x' }, home }), { dir: '/x/huggingface/hub', from: '$XDG_CACHE_HOME/huggingface/hub' });
    assert.equal(hfHubCache({ env: { HF_HOME: '~/hf' }, home }).dir, join(home, 'hf', 'hub'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a folder path wins over a repo id; ~ expands; files are refused', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'acc-hf-')));
  try {
    mkdirSync(join(root, 'acme', 'm'), { recursive: true });
    writeFileSync(join(root, 'file.json'), '{}');
    assert.equal(resolveModel('acme/m', { env: { HF_HUB_CACHE: join(root, 'hub') }, cwd: root }), join(root, 'acme', 'm'));
    assert.equal(resolveModel('./acme/m', { env: {}, cwd: root }), join(root, 'acme', 'm'));
    assert.equal(resolveModel('~/acme', { env: {}, home: root, cwd: '/' }), join(root, 'acme'));
    assert.equal(resolveModel(tinySdxl), tinySdxl);
    throwsConfig(() => resolveModel('file.json', { env: {}, cwd: root }), 'is a file');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('not found: the message lists every place it looked', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'acc-hf-')));
  try {
    const cache = join(root, 'hub');
    const env = { HF_HUB_CACHE: cache };
    throwsConfig(() => resolveModel('acme/absent', { env, cwd: root }),
      `folder ${join(root, 'acme', 'absent')}`, join(cache, 'models--acme--absent'), '$HF_HUB_CACHE', 'huggingface-cli download acme/absent');
    throwsConfig(() => resolveModel('./nowhere', { env, cwd: root }), `folder ${join(root, 'nowhere')}`, 'not a Hugging Face repo id');
    throwsConfig(() => resolveModel('a--b/c', { env, cwd: root }), 'not a Hugging Face repo id');
    throwsConfig(() => resolveModel('', { env, cwd: root }), 'empty');
    // Repo cached but refs/main missing, then refs/main pointing at a snapshot that is not there.
    const repo = join(cache, 'models--acme--half');
    mkdirSync(join(repo, 'snapshots', OTHER), { recursive: true });
    throwsConfig(() => resolveModel('acme/half', { env, cwd: root }), join(repo, 'refs', 'main'), `cached snapshots: ${OTHER}`);
    mkdirSync(join(repo, 'refs'));
    writeFileSync(join(repo, 'refs', 'main'), MAIN);
    throwsConfig(() => resolveModel('acme/half', { env, cwd: root }), `ref file ${join(repo, 'refs', 'main')} (-> ${MAIN})`, join(repo, 'snapshots', MAIN));
    writeFileSync(join(repo, 'refs', 'main'), 'not a hash');
    throwsConfig(() => resolveModel('acme/half', { env, cwd: root }), join(repo, 'refs', 'main'), '40-hex');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
