/**
 * Seeded fuzzing of model folders (issue 5, "Model files"): temp copies of the tiny-sd / tiny-sdxl fixtures get
 * one file mutated per case — safetensors headers and data, sharded-weight index files, config.json /
 * model_index.json / scheduler_config.json, tokenizer files — and each case runs only the loaders that file
 * feeds (openModelFolder, openComponentWeights + bind, the config parsers + module construction, scheduler
 * creation and stepping, CLIPTokenizer.fromFolder + encoding; a small sample goes through loadPipeline).
 * Every case must end in success or an AccDiffusionError whose one-line message names a path in the folder.
 * Counts per mutation kind and per error class are printed. FUZZ_SCALE=10 runs ten times as many cases.
 */
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoencoderKL, bindVaeWeights, buildVaeDecodeGraph } from '../../src/models/autoencoder-kl.js';
import { buildCLIPTextGraph, CLIPTextModel } from '../../src/models/clip-text-model.js';
import { bindUNetWeights, UNet2DConditionModel } from '../../src/models/unet-2d-condition.js';
import { loadAutoencoderKLConfig, loadCLIPTextConfig, readUNetConfig } from '../../src/loading/component-folder.js';
import { bindWeights, type Module } from '../../src/graph/module.js';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import { promptEncodingRecipe } from '../../src/prompts/prompt-encoder.js';
import { createScheduler, type SchedulerKind } from '../../src/schedulers/index.js';
import { readSchedulerConfig } from '../../src/loading/component-folder.js';
import { tensor } from '../../src/tensor/tensor.js';
import { CLIPTokenizer } from '../../src/tokenizers/clip-tokenizer.js';
import { openComponentWeights, type ComponentWeights } from '../../src/weights/component-weights.js';
import { openModelFolder } from '../../src/weights/diffusers-folder.js';
import { loadSafetensors, readSafetensorsHeader, writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors.js';
import { FuzzTally, Rng } from '../helpers/fuzz.js';
import { mutateJsonFile, mutateMerges, removeVocabEntries, type TextMutation } from '../helpers/fuzz-json.js';
import { mutateSafetensors } from '../helpers/fuzz-safetensors.js';
import { tinySd, tinySdxl } from '../helpers/paths.js';

const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const n = (count: number) => Math.max(1, Math.round(count * SCALE));
const SEED = 20240805;

const root = mkdtempSync(join(tmpdir(), 'accdiffusion-fuzz-'));
after(() => rmSync(root, { recursive: true, force: true }));

const MODELS = { sd: join(root, 'tiny-sd'), sdxl: join(root, 'tiny-sdxl') } as const;
cpSync(tinySd, MODELS.sd, { recursive: true });
cpSync(tinySdxl, MODELS.sdxl, { recursive: true });
type ModelName = keyof typeof MODELS;

/** Writes `content` over `file` (null deletes it; 'dir' puts a folder in its place), runs fn, restores the file. */
async function withFile(file: string, content: string | Buffer | null | 'dir', fn: () => Promise<void>): Promise<void> {
  const original = existsSync(file) ? readFileSync(file) : null;
  rmSync(file, { recursive: true, force: true });
  if (content === 'dir') mkdirSync(file);
  else if (content !== null) writeFileSync(file, content);
  try {
    await fn();
  } finally {
    rmSync(file, { recursive: true, force: true });
    if (original) writeFileSync(file, original);
  }
}

/** Writes a mutated safetensors file: its first bytes, zero-extended to its full size. */
function writeMutated(file: string, m: { content: Buffer; size: number }): void {
  writeFileSync(file, m.content);
  if (m.size !== m.content.length) truncateSync(file, m.size);
}

/** Like withFile for a mutated safetensors file. */
async function withWeights(file: string, m: { content: Buffer; size: number }, fn: () => Promise<void>): Promise<void> {
  const original = readFileSync(file);
  writeMutated(file, m);
  try {
    await fn();
  } finally {
    writeFileSync(file, original);
  }
}

/** The class model_index.json names for a text encoder (it decides whether text_projection exists). */
function architectureOf(model: ModelName, component: string): string {
  const index = JSON.parse(readFileSync(join(MODELS[model], 'model_index.json'), 'utf8')) as Record<string, [string, string]>;
  return index[component]![1];
}

/** Module trees of the unmutated configs, reused across cases (binding only overwrites their weight refs). */
const modules = new Map<string, Module>();
function moduleFor(model: ModelName, component: string): Module {
  const key = `${model}/${component}`;
  let m = modules.get(key);
  if (!m) {
    const dir = join(MODELS[model], component);
    if (component === 'unet') m = new UNet2DConditionModel(readUNetConfig(dir));
    else if (component === 'vae') m = new AutoencoderKL(loadAutoencoderKLConfig(dir));
    else m = new CLIPTextModel(loadCLIPTextConfig(dir, { architecture: architectureOf(model, component) }));
    modules.set(key, m);
  }
  return m;
}

function bind(component: string, m: Module, w: ComponentWeights): void {
  if (component === 'unet') bindUNetWeights(m as UNet2DConditionModel, w);
  else if (component === 'vae') bindVaeWeights(m as AutoencoderKL, w);
  else bindWeights(m, w);
}

/** Graph build (no session) for the components whose graphs are cheap to build. */
function buildGraph(component: string, m: Module): void {
  if (component === 'vae') buildVaeDecodeGraph(m as AutoencoderKL).toModelProto();
  else if (component.startsWith('text_encoder')) {
    const clip = m as CLIPTextModel;
    buildCLIPTextGraph(clip, { seqLen: Math.min(77, clip.config.max_position_embeddings) }).toModelProto();
  }
}

const cachedWeights = new Map<string, ComponentWeights>();
function originalWeights(model: ModelName, component: string): ComponentWeights {
  const key = `${model}/${component}`;
  let w = cachedWeights.get(key);
  if (!w) cachedWeights.set(key, (w = openComponentWeights(join(MODELS[model], component))));
  return w;
}

function weightFile(component: string): string {
  return component.startsWith('text_encoder') ? 'model.safetensors' : 'diffusion_pytorch_model.safetensors';
}

const WEIGHT_COMPONENTS: Array<[ModelName, string, number]> = [
  ['sd', 'text_encoder', 3], ['sdxl', 'text_encoder', 2], ['sdxl', 'text_encoder_2', 3],
  ['sd', 'vae', 3], ['sdxl', 'vae', 3], ['sd', 'unet', 1], ['sdxl', 'unet', 1],
];
function pickWeighted<T extends [ModelName, string, number]>(rng: Rng, list: readonly T[]): T {
  let r = rng.int(list.reduce((a, x) => a + x[2], 0));
  for (const x of list) if ((r -= x[2]) < 0) return x;
  return list[list.length - 1]!;
}

function printAndCheck(tally: FuzzTally): void {
  console.log(tally.summary());
  // FUZZ_FAILURES=file collects every failure (the assertion message shows the first few).
  if (process.env.FUZZ_FAILURES) appendFileSync(process.env.FUZZ_FAILURES, tally.report(Infinity) + '\n');
  assert.equal(tally.failures.length, 0, `fuzz failures:\n${tally.report()}`);
}

test('fuzz: safetensors weight files (headers, offsets, dtypes, shapes, truncation)', { timeout: 120_000 }, async () => {
  const rng = new Rng(SEED);
  const tally = new FuzzTally('safetensors');
  const originals = new Map<string, Buffer>();
  for (let i = 0; i < n(1300); i++) {
    const [model, component] = pickWeighted(rng, WEIGHT_COMPONENTS);
    // a scratch component folder (config.json + the mutated weights), rewritten by every case
    const dir = join(root, 'scratch', model, component);
    const file = join(dir, weightFile(component));
    const source = join(MODELS[model], component, weightFile(component));
    if (!originals.has(source)) {
      mkdirSync(dir, { recursive: true });
      copyFileSync(join(MODELS[model], component, 'config.json'), join(dir, 'config.json'));
      originals.set(source, readFileSync(source));
    }
    let m = mutateSafetensors(originals.get(source)!, rng);
    rmSync(file, { recursive: true, force: true });
    if (rng.chance(0.01)) {
      // a FIFO or a folder under the weights' name: opening a FIFO for reading would block forever
      const fifo = rng.chance(0.5);
      if (fifo) execFileSync('mkfifo', [file]);
      else mkdirSync(file);
      m = { kind: fifo ? 'st-replaced-by-fifo' : 'st-replaced-by-folder', detail: fifo ? 'mkfifo' : 'mkdir', content: Buffer.alloc(0), size: 0 };
    } else {
      writeMutated(file, m);
    }
    {
      await tally.run(`st#${i}`, m.kind, `${model}/${component}: ${m.detail}`, [
        () => readSafetensorsHeader(file),
        () => {
          const mod = moduleFor(model, component);
          bind(component, mod, openComponentWeights(dir));
          buildGraph(component, mod);
        },
        () => { if (component !== 'unet') loadSafetensors(file); },
      ], dir);
    }
  }
  printAndCheck(tally);
});

test('fuzz: sharded weights and their index.json', { timeout: 60_000 }, async () => {
  // A sharded copy of tiny-sd's text encoder: three shards and a model.safetensors.index.json, as
  // transformers' save_pretrained(max_shard_size=...) writes them.
  const dir = join(root, 'sharded', 'text_encoder');
  mkdirSync(dir, { recursive: true });
  const tensors = loadSafetensors(join(MODELS.sd, 'text_encoder', 'model.safetensors'));
  const shards: Array<Record<string, TensorToWrite>> = [{}, {}, {}];
  const weightMap: Record<string, string> = {};
  const shardName = (k: number) => `model-0000${k + 1}-of-00003.safetensors`;
  [...tensors.entries()].forEach(([name, t], i) => {
    const k = i % 3;
    shards[k]![name] = { shape: t.shape, data: t.data as Float32Array | BigInt64Array };
    weightMap[name] = shardName(k);
  });
  shards.forEach((s, k) => writeSafetensors(join(dir, shardName(k)), s));
  const indexFile = join(dir, 'model.safetensors.index.json');
  const indexText = JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }, null, 2);
  writeFileSync(indexFile, indexText);
  const clip = new CLIPTextModel(loadCLIPTextConfig(join(MODELS.sd, 'text_encoder')));
  bindWeights(clip, openComponentWeights(dir)); // the unmutated shards load

  const rng = new Rng(SEED + 1);
  const tally = new FuzzTally('sharded index');
  const keys = Object.keys(weightMap);
  for (let i = 0; i < n(300); i++) {
    const op = rng.int(8);
    let target = indexFile;
    let m: TextMutation;
    if (op === 0) {
      const k = rng.int(3);
      target = join(dir, shardName(k));
      m = { kind: 'index-shard-deleted', detail: shardName(k), content: null };
    } else if (op === 1 || op === 2) {
      const map = { ...weightMap };
      const key = rng.pick(keys);
      map[key] = rng.pick(['model-00009-of-00003.safetensors', '../text_encoder/model.safetensors', '/etc/passwd', 'sub/model.safetensors', '.hidden', '..', '', 'model.safetensors\u0000']);
      m = { kind: 'index-names-missing-shard', detail: `${key} -> ${JSON.stringify(map[key])}`, content: JSON.stringify({ weight_map: map }) };
    } else if (op === 3) {
      m = { kind: 'index-empty-map', detail: 'weight_map {}', content: rng.pick(['{"weight_map": {}}', '{"metadata": {}}', '{"weight_map": []}', '{"weight_map": null}']) };
    } else if (op === 4) {
      // a shard replaced by a copy of another: its tensors now appear twice
      const [a, b] = rng.chance(0.5) ? [0, 1] : [2, 0];
      target = join(dir, shardName(a));
      m = { kind: 'index-duplicate-tensors', detail: `${shardName(a)} := ${shardName(b)}`, content: readFileSync(join(dir, shardName(b))) };
    } else if (op === 5) {
      const k = rng.int(3);
      target = join(dir, shardName(k));
      const st = mutateSafetensors(readFileSync(target), rng);
      const full = Buffer.alloc(st.size);
      st.content.copy(full);
      m = { kind: `index-shard-${st.kind}`, detail: `${shardName(k)}: ${st.detail}`, content: full };
    } else {
      const j = mutateJsonFile(indexText, rng);
      m = { ...j, kind: `index-${j.kind}` };
    }
    await withFile(target, m.content, () =>
      tally.run(`index#${i}`, m.kind, m.detail, [() => bindWeights(clip, openComponentWeights(dir))], dir));
  }
  printAndCheck(tally);
});

/** Probes for one mutated config file, in the order the pipeline reads them. */
function configProbes(model: ModelName, component: string): Array<() => unknown> {
  const folder = MODELS[model];
  const dir = join(folder, component);
  const probes: Array<() => unknown> = [() => openModelFolder(folder)];
  if (component === 'model_index.json') {
    probes.push(() => promptEncodingRecipe(openModelFolder(folder) && JSON.parse(readFileSync(join(folder, 'model_index.json'), 'utf8')), join(folder, 'model_index.json')));
  } else if (component === 'unet') {
    probes.push(() => bindUNetWeights(new UNet2DConditionModel(readUNetConfig(dir)), originalWeights(model, 'unet')));
  } else if (component === 'vae') {
    probes.push(() => {
      const vae = new AutoencoderKL(loadAutoencoderKLConfig(dir));
      bindVaeWeights(vae, originalWeights(model, 'vae'));
      buildVaeDecodeGraph(vae).toModelProto();
    });
  } else if (component.startsWith('text_encoder')) {
    probes.push(() => {
      const clip = new CLIPTextModel(loadCLIPTextConfig(dir, { architecture: architectureOf(model, component) }));
      bindWeights(clip, originalWeights(model, component));
      buildGraph(component, clip);
    });
  } else if (component === 'scheduler') {
    probes.push(() => {
      const file = join(dir, 'scheduler_config.json');
      const config = readSchedulerConfig(file);
      for (const kind of [undefined, 'ddim', 'euler'] as Array<SchedulerKind | undefined>) {
        let s: ReturnType<typeof createScheduler>;
        try {
          s = createScheduler(config, kind, file);
        } catch (e) {
          if (kind === undefined) continue; // an unknown _class_name is fine when a class is chosen explicitly
          throw e;
        }
        for (const steps of [1, 2, 50]) {
          s.setTimesteps(steps);
          let x = tensor([1, 1, 2, 2], new Float32Array([0.5, -1, 2, 0]));
          const eps = tensor([1, 1, 2, 2], new Float32Array([0.1, 0.2, -0.3, 0]));
          x = s.addNoise(x, eps, s.timesteps[0]!);
          s.timesteps.forEach((t, k) => { x = s.step(eps, t, s.scaleModelInput(x, t, k), { stepIndex: k }).prevSample; });
        }
      }
    });
  }
  return probes;
}

const CONFIG_FILES: Array<[ModelName, string, string, number]> = [
  ['sd', 'model_index.json', 'model_index.json', 2], ['sdxl', 'model_index.json', 'model_index.json', 2],
  ['sd', 'unet', 'config.json', 2], ['sdxl', 'unet', 'config.json', 2],
  ['sd', 'vae', 'config.json', 2], ['sdxl', 'vae', 'config.json', 2],
  ['sd', 'text_encoder', 'config.json', 1], ['sdxl', 'text_encoder', 'config.json', 1], ['sdxl', 'text_encoder_2', 'config.json', 1],
  ['sd', 'scheduler', 'scheduler_config.json', 2], ['sdxl', 'scheduler', 'scheduler_config.json', 2],
];

test('fuzz: config.json, model_index.json and scheduler_config.json', { timeout: 120_000 }, async () => {
  const rng = new Rng(SEED + 2);
  const tally = new FuzzTally('configs');
  const total = CONFIG_FILES.reduce((a, x) => a + x[3], 0);
  for (let i = 0; i < n(1500); i++) {
    let r = rng.int(total);
    const [model, component, name] = CONFIG_FILES.find((x) => (r -= x[3]) < 0)!;
    const file = component === 'model_index.json' ? join(MODELS[model], name) : join(MODELS[model], component, name);
    const m: TextMutation = rng.chance(0.02) ? { kind: 'replaced-by-folder', detail: 'a folder in place of the file', content: null } : mutateJsonFile(readFileSync(file, 'utf8'), rng);
    const content = m.kind === 'replaced-by-folder' ? 'dir' : m.content;
    const label = `${component === 'model_index.json' ? 'model_index' : component.replace(/_2$/, '')}/${m.kind}`;
    // setTimesteps does not know the file's path; its errors name scheduler_config.json
    const names = component === 'scheduler' ? [MODELS[model], 'scheduler_config.json'] : MODELS[model];
    await withFile(file, content, () => tally.run(`cfg#${i}`, label, `${model}/${component}/${name}: ${m.detail}`, configProbes(model, component), names));
  }
  printAndCheck(tally);
});

const PROMPTS = [
  'a photo of an astronaut riding a horse on mars, highly detailed',
  `${'very '.repeat(60)}long prompt with <|endoftext|> inside and ÜNÏCÖDÉ 東京 🚀`,
  '',
];

test('fuzz: tokenizer files (vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json)', { timeout: 60_000 }, async () => {
  const rng = new Rng(SEED + 3);
  const tally = new FuzzTally('tokenizers');
  const dirs: Array<[ModelName, string]> = [['sd', 'tokenizer'], ['sdxl', 'tokenizer'], ['sdxl', 'tokenizer_2']];
  const files = ['vocab.json', 'vocab.json', 'merges.txt', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json'];
  for (let i = 0; i < n(800); i++) {
    const [model, component] = rng.pick(dirs);
    const dir = join(MODELS[model], component);
    const name = rng.pick(files);
    const file = join(dir, name);
    const text = readFileSync(file, 'utf8');
    let m: TextMutation;
    if (name === 'merges.txt') m = rng.chance(0.05) ? { kind: 'merges-deleted', detail: 'file removed', content: null } : mutateMerges(text, rng);
    else if (name === 'vocab.json' && rng.chance(0.4)) m = removeVocabEntries(text, rng);
    else m = mutateJsonFile(text, rng);
    const label = `${name.replace(/\.(json|txt)$/, '')}/${m.kind}`;
    await withFile(file, m.content, () =>
      tally.run(`tok#${i}`, label, `${model}/${component}/${name}: ${m.detail}`, [
        () => {
          const tok = CLIPTokenizer.fromFolder(dir);
          for (const p of PROMPTS) {
            const enc = tok.encodePadded(p);
            assert.equal(enc.ids.length, tok.maxLength);
            tok.decode(enc.ids);
            tok.tokens(p);
          }
        },
      ], dir));
  }
  printAndCheck(tally);
});

test('fuzz: a sample of mutated folders through loadPipeline', { timeout: 120_000 }, async () => {
  const rng = new Rng(SEED + 4);
  const tally = new FuzzTally('loadPipeline sample');
  for (let i = 0; i < n(12); i++) {
    const model: ModelName = rng.chance(0.5) ? 'sd' : 'sdxl';
    const folder = MODELS[model];
    const r = rng.int(4);
    let file: string;
    let m: TextMutation | { kind: string; detail: string; content: Buffer; size: number };
    if (r === 0) {
      const component = rng.pick(['text_encoder', 'vae', 'unet']);
      file = join(folder, component, weightFile(component));
      m = mutateSafetensors(readFileSync(file), rng);
    } else if (r === 1) {
      file = join(folder, rng.pick(['tokenizer/merges.txt', 'tokenizer/tokenizer_config.json', 'tokenizer/vocab.json']));
      m = file.endsWith('merges.txt') ? mutateMerges(readFileSync(file, 'utf8'), rng) : mutateJsonFile(readFileSync(file, 'utf8'), rng);
    } else {
      file = join(folder, rng.pick(['model_index.json', 'unet/config.json', 'vae/config.json', 'text_encoder/config.json', 'scheduler/scheduler_config.json']));
      m = mutateJsonFile(readFileSync(file, 'utf8'), rng);
    }
    const mutated = m;
    const write = 'size' in mutated ? (fn: () => Promise<void>) => withWeights(file, mutated, fn) : (fn: () => Promise<void>) => withFile(file, mutated.content, fn);
    await write(() =>
      tally.run(`pipe#${i}`, `pipeline/${m.kind}`, `${file.slice(root.length + 1)}: ${m.detail}`, [
        async () => {
          const pipe = await loadPipeline(folder);
          await pipe.dispose();
        },
      ], folder));
  }
  printAndCheck(tally);
});

/** Every number in a JSON value, as [path, value]. */
function numberPaths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof v === 'number') return [prefix];
  if (Array.isArray(v)) return v.flatMap((x, i) => numberPaths(x, [...prefix, i]));
  if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => numberPaths(x, [...prefix, k]));
  return [];
}

test('fuzz (exhaustive): every number of every config set to hostile values', { timeout: 120_000 }, async () => {
  const tally = new FuzzTally('config numbers');
  const values = [0, -1, 0.5, 1e5, 1e6, 1e9, 2 ** 31, 2 ** 53, 1e21, 1e300];
  const files: Array<[ModelName, string, string]> = [
    ...CONFIG_FILES.filter(([m]) => m === 'sd').map(([m, c, f]) => [m, c, f] as [ModelName, string, string]),
    ['sdxl', 'unet', 'config.json'], ['sdxl', 'vae', 'config.json'], ['sdxl', 'text_encoder_2', 'config.json'],
    ['sd', 'tokenizer', 'tokenizer_config.json'],
  ];
  let i = 0;
  for (const [model, component, name] of files) {
    const file = component === 'model_index.json' ? join(MODELS[model], name) : join(MODELS[model], component, name);
    const text = readFileSync(file, 'utf8');
    for (const path of numberPaths(JSON.parse(text))) {
      for (const value of values) {
        const json = JSON.parse(text) as Record<string, unknown>;
        let cur: Record<string | number, unknown> = json;
        for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, unknown>;
        cur[path[path.length - 1]!] = value;
        const probes = component.startsWith('tokenizer')
          ? [() => { const tok = CLIPTokenizer.fromFolder(join(MODELS[model], component)); tok.encodePadded(PROMPTS[1]!); }]
          : configProbes(model, component);
        await withFile(file, JSON.stringify(json), () =>
          tally.run(`num#${i++}`, `${component.replace(/_2$/, '')}/${name}`, `${model}: ${path.join('.')} = ${value}`, probes,
            component === 'scheduler' ? [MODELS[model], 'scheduler_config.json'] : MODELS[model]));
      }
    }
  }
  printAndCheck(tally);
});
