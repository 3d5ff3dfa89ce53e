/** A single .safetensors file that is something else (--model FILE, --vae, --lora, --init-latents) is named as what it is. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeightsError } from '../../src/errors.js';
import { readSafetensorsHeader } from '../../src/weights/safetensors.js';

test('files that are no safetensors: LFS pointer, HTML page, zeros, JSON and text are named; random bytes keep the header message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-diag-'));
  try {
    const cases: Array<[string, Uint8Array | string, RegExp]> = [
      ['lfs', 'version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 6938040682\n', /is a Git LFS pointer \(\d+ bytes\), not the file/],
      ['html', '<!DOCTYPE html><html><body>Access denied</body></html>', /is an HTML\/XML page/],
      ['zeros', new Uint8Array(4096), /starts with only zero bytes/],
      ['json', '{"_class_name": "AutoencoderKL", "latent_channels": 4}\n', /is a JSON file \(it starts "\{"_class_name": "AutoencoderKL", [^)]*\), not a \.safetensors file/],
      ['text', 'lora weights for my model, see readme\n', /is a text file \(it starts "lora weights/],
      ['random', Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 200) & 255), /header length \d+ (exceeds|runs past)/],
    ];
    for (const [name, content, re] of cases) {
      const file = join(dir, `${name}.safetensors`);
      writeFileSync(file, content);
      assert.throws(() => readSafetensorsHeader(file), (e: unknown) => e instanceof WeightsError && re.test(e.message) && !e.message.includes('\n'), name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
