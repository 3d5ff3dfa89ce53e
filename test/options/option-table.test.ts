// The option table (src/options/option-table.ts): every option declared once, and the library, the CLI and
// the page reading the same defaults, ranges, flags and checks from it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseArgs, type GenerateCommand, type UpscaleCommand } from '../../src/cli/args.js';
import { buildProgram, DEFAULT_SEED, DEFAULT_STRENGTH } from '../../src/cli/flags.js';
import { passedOptions } from '../../src/cli/library-values.js';
import { OptionsError } from '../../src/errors.js';
import { OPTION_KEYS, OPTION_TABLE, type OptionKey } from '../../src/options/option-table.js';
import { resolveOptions } from '../../src/options/resolve-options.js';
import { formFields } from '../../src/server/form-fields.js';
import { settingsFromParameters } from '../../src/server/settings.js';
import { formatParameters } from '../../src/cli/parameters.js';
import { repoRoot } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'accd-table-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
// an input image path for upscale (only its existence is checked while parsing)
const image = join(repoRoot, 'docs', 'images', 'upscale-input.png');

const NATIVE = 8;
const base = { prompt: 'a cat', width: 64, height: 64 } as const;
const resolved = resolveOptions(base, NATIVE) as unknown as Record<string, unknown>;

function subcommands(): { generate: Command; upscale: Command } {
  const program = buildProgram(() => {}, { generate: () => {}, upscale: () => {}, info: () => {} });
  const find = (name: string) => program.commands.find((c) => c.name() === name)!;
  return { generate: find('generate'), upscale: find('upscale') };
}

/** The message of the OptionsError `f` throws (and that it is one line). */
function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof OptionsError, `expected OptionsError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'));
    return e.message;
  }
  return assert.fail('no error');
}

test('every row with a flag is one commander option whose attribute is the library key; the rest are library-only', () => {
  const { generate, upscale } = subcommands();
  const libraryOnly: OptionKey[] = [];
  for (const key of OPTION_KEYS) {
    const cli = OPTION_TABLE[key].cli;
    if (!cli) {
      libraryOnly.push(key);
      continue;
    }
    const long = cli.flag.split(' ')[0]!;
    for (const cmd of cli.upscaleOnly ? [upscale] : [generate, upscale]) {
      const found = cmd.options.filter((o) => o.long === long);
      assert.equal(found.length, 1, `${cmd.name()} ${long}`);
      assert.equal(found[0]!.attributeName(), key, `${long} sets ${key}`);
      if (cli.off) assert.equal(cmd.options.find((o) => o.long === cli.off!.flag)?.attributeName(), key);
    }
    if (cli.upscaleOnly) assert.equal(generate.options.some((o) => o.long === long), false, `generate has no ${long}`);
  }
  assert.deepEqual(libraryOnly, ['stageImages']);
});

test('resolveOptions keeps the report\'s key order (report and checkpoint JSON are compared byte for byte)', () => {
  assert.deepEqual(Object.keys(resolved), [
    'prompt', 'negativePrompt', 'width', 'height', 'method', 'steps', 'guidance', 'multiGuidance', 'guidanceRescale', 'seed', 'scheduler',
    'c', 'stride', 'viewBatchSize', 'cosineScale1', 'cosineScale2', 'cosineScale3', 'sigma', 'patchPrompts', 'windowInteraction',
    'referenceCompat', 'stageImages', 'initLatents', 'promptWeighting', 'maxPromptChunks', 'inputResidual', 'strength',
  ]);
  assert.deepEqual(
    { c: resolved.c, viewBatchSize: resolved.viewBatchSize, stride: resolved.stride, seed: resolved.seed, strength: resolved.strength, patchPrompts: resolved.patchPrompts },
    { c: 0.3, viewBatchSize: 16, stride: NATIVE / 2, seed: 42, strength: 0.5, patchPrompts: true },
  );
  assert.equal(resolveOptions({ ...base, method: 'demofusion' }, NATIVE).patchPrompts, false);
});

test('the defaults --help shows are resolveOptions\' defaults, and the CLI\'s seed and strength defaults are the same', () => {
  const { generate, upscale } = subcommands();
  let checked = 0;
  for (const key of OPTION_KEYS) {
    const d = OPTION_TABLE[key].default;
    const cli = OPTION_TABLE[key].cli;
    if (!cli || cli.help !== undefined || d === undefined || typeof d === 'function') continue;
    const opt = (cli.upscaleOnly ? upscale : generate).options.find((o) => o.long === cli.flag.split(' ')[0])!;
    const shown = opt.defaultValue !== undefined ? opt.defaultValue : /\(default (.+)\)$/.exec(opt.description)?.[1];
    const expected = typeof resolved[key] === 'string' && opt.defaultValue === undefined ? JSON.stringify(resolved[key]) : resolved[key];
    assert.equal(typeof shown === 'string' && typeof expected === 'number' ? Number(shown) : shown, expected, `${cli.flag}: ${opt.description}`);
    checked++;
  }
  assert.ok(checked >= 15, `${checked} defaults checked`);
  assert.equal(DEFAULT_SEED, resolved.seed);
  assert.equal(DEFAULT_STRENGTH, resolved.strength);
  const cmd = parseArgs(['generate', '--prompt', 'a cat'], { cwd: dir }) as GenerateCommand;
  assert.equal(cmd.seed, resolved.seed);
});

test('a bad value of each numeric option gives the same one-line error from the library and the CLI', () => {
  let checked = 0;
  for (const key of OPTION_KEYS) {
    const spec = OPTION_TABLE[key];
    if ((spec.kind !== 'integer' && spec.kind !== 'number') || !spec.cli) continue;
    const bad = [-5, 2.5, 1e9, NaN].find((x) => {
      try {
        resolveOptions({ ...base, [key]: x }, NATIVE);
        return false;
      } catch {
        return true;
      }
    })!;
    const flag = spec.cli.flag.split(' ')[0]!;
    const library = messageOf(() => resolveOptions({ ...base, [key]: bad }, NATIVE));
    const raw = Number.isNaN(bad) ? 'abc' : String(bad);
    const sizeFlags = key === 'width' || key === 'height' ? ['--width', '64', '--height', '64'] : [];
    const command = spec.cli.upscaleOnly ? ['upscale', '--image', image] : ['generate'];
    const cli = messageOf(() => parseArgs([...command, '--prompt', 'a cat', ...sizeFlags, flag, raw], { cwd: dir }));
    if (spec.range?.max === 'nativeLatent') {
      // the model's bound is checked once the model is known; before, the same check without it
      assert.equal(library, `${key} must be an integer in 1..${NATIVE} (latent cells), got ${bad}`);
      assert.equal(cli, `${flag} must be a positive integer (latent cells), got "${raw}"`);
    } else {
      assert.equal(cli, library.replace(key, flag).replace(/got .*$/, `got "${raw}"`), key);
    }
    checked++;
  }
  assert.equal(checked, 15);
  assert.equal(messageOf(() => resolveOptions({ ...base, c: 2 }, NATIVE)), 'c must be a number in [0, 1] (a share of the window), got 2');
  assert.equal(messageOf(() => resolveOptions({ ...base, viewBatchSize: 0 }, NATIVE)), 'viewBatchSize must be a positive integer, got 0');
});

test('c and viewBatchSize: flag → command → GenerateOptions → resolved, unchanged', () => {
  const cmd = parseArgs(['generate', '--prompt', 'a cat', '--c', '0.25', '--view-batch-size', '3'], { cwd: dir }) as GenerateCommand;
  const options = { ...passedOptions(cmd), prompt: cmd.prompt, width: 64, height: 64 };
  assert.equal(options.c, 0.25);
  assert.equal(options.viewBatchSize, 3);
  const o = resolveOptions(options, NATIVE);
  assert.deepEqual([o.c, o.viewBatchSize], [0.25, 3]);
  // upscale hands its own two options on, generate never has them
  const up = parseArgs(['upscale', '--image', image, '--prompt', 'a', '--strength', '0.6', '--input-residual'], { cwd: dir }) as UpscaleCommand;
  assert.deepEqual([passedOptions(up).strength, passedOptions(up).inputResidual], [0.6, true]);
  assert.equal('strength' in passedOptions(cmd), false);
});

test('the page\'s fields take label, range, flag, help and default from the table, inside the option\'s own range', () => {
  const fields = new Map(formFields().map((f) => [f.key, f]));
  for (const key of OPTION_KEYS) {
    const spec = OPTION_TABLE[key];
    const f = fields.get(key);
    assert.equal(f !== undefined, spec.page !== undefined, key);
    if (!f || !spec.page) continue;
    assert.equal(f.label, spec.page.label);
    assert.equal(f.min, spec.page.min);
    assert.equal(f.max, spec.page.max);
    if (f.flag !== undefined) assert.equal(f.flag, spec.cli?.flag.split(' ')[0]);
    const r = spec.range;
    if (r?.min !== undefined && f.min !== undefined) assert.ok(r.minExclusive ? f.min > r.min : f.min >= r.min, `${key} page min`);
    if (typeof r?.max === 'number' && f.max !== undefined) assert.ok(f.max <= r.max, `${key} page max`);
    if (!['width', 'height', 'stride', 'scheduler', 'prompt'].includes(key)) assert.equal(f.default, resolved[key], `${key} default`);
  }
  assert.match(fields.get('c')!.help, /\(default 0\.3\)$/);
});

test('infotext names: unique, written by formatParameters and read back by the page in table order', () => {
  const names = OPTION_KEYS.flatMap((k) => (OPTION_TABLE[k].infotext ? [OPTION_TABLE[k].infotext!] : []));
  assert.equal(new Set(names).size, names.length);
  const o = { ...resolveOptions({ ...base, c: 0.45, viewBatchSize: 5, patchPrompts: false, seed: 9 }, NATIVE), initLatents: undefined };
  const text = formatParameters({ options: o, model: 'm' });
  assert.match(text, /Steps: 50, Sampler: default, CFG scale: 7\.5, Seed: 9, Size: 64x64, Model: m, Method: accdiffusion, Multi CFG scale: 7\.5, Guidance rescale: 0, c: 0\.45, Stride: 4, View batch size: 5, Cosine scale 1: 3, Cosine scale 2: 1, Cosine scale 3: 1, Sigma: 0\.8, Patch prompts: False, Window interaction: True, Reference compat: False$/);
  const back = settingsFromParameters(text, []);
  assert.deepEqual([back.c, back.viewBatchSize, back.patchPrompts, back.seed, back.steps], [0.45, 5, false, 9, 50]);
});
