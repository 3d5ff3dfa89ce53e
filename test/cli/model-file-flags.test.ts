// The model-file flags (src/cli/model-file-flags.ts): --config, --prediction-type, --vae, repeatable --lora FILE[:SCALE].
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, type GenerateCommand } from '../../src/cli/args.js';
import { OptionsError } from '../../src/errors.js';

test('--config, --prediction-type, --vae and repeated --lora parse to absolute paths and scales; bad values are one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'accd-mff-'));
  try {
    mkdirSync(join(dir, 'cfg'));
    writeFileSync(join(dir, 'a.safetensors'), 'x');
    writeFileSync(join(dir, 'b.safetensors'), 'x');
    writeFileSync(join(dir, 'vae.safetensors'), 'x');
    const base = ['generate', '--prompt', 'p', '--model', 'm.safetensors'];
    const c = parseArgs([...base, '--config', 'cfg', '--prediction-type', 'epsilon', '--vae', 'vae.safetensors', '--lora', 'a.safetensors:0.5', '--lora', 'b.safetensors'], { cwd: dir }) as GenerateCommand;
    assert.deepEqual(c.modelFiles, {
      config: join(dir, 'cfg'), predictionType: 'epsilon', vae: join(dir, 'vae.safetensors'),
      loras: [{ file: join(dir, 'a.safetensors'), scale: 0.5 }, { file: join(dir, 'b.safetensors'), scale: 1 }],
    });
    for (const [args, re] of [
      [['--config', 'nope'], /^--config: .*nope is not a folder/],
      [['--prediction-type', 'sample'], /unknown prediction-type "sample"/],
      [['--vae', 'nope.safetensors'], /^--vae: .*nope\.safetensors does not exist$/],
      [['--lora', 'nope.safetensors:0.7'], /^--lora: file .*nope\.safetensors does not exist$/],
      [['--lora', 'a.safetensors:abc'], /^--lora a\.safetensors:abc: no file .*a\.safetensors:abc, and "abc" is not a scale \(FILE\[:SCALE\], e\.g\. style\.safetensors:0\.8\)$/],
      [['--lora', '.'], /^--lora: .* is a folder, not a \.safetensors file$/],
    ] as const) {
      assert.throws(() => parseArgs([...base, ...args], { cwd: dir }), (e: Error) => e instanceof OptionsError && re.test(e.message) && !e.message.includes('\n'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
