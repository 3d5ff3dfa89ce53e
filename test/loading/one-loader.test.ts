/**
 * The one loader (issue 10): model_index.json is parsed once (openModelFolder) and the prompt-encoding recipe comes
 * from that description, equal to the recipe of the raw JSON; model definitions read no files and open no sessions;
 * every onnxruntime session is created in src/loading/sessions.ts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { folderRecipe, promptEncodingRecipe } from '../../src/prompts/prompt-encoder.js';
import { openModelFolder } from '../../src/weights/diffusers-folder.js';
import { repoRoot, tinySd, tinySdxl } from '../helpers/paths.js';
import { sourceFiles } from '../helpers/source-files.js';

test('the recipe of an opened folder equals the recipe of its model_index.json', () => {
  for (const dir of [tinySd, tinySdxl, join(repoRoot, 'models', 'shapes-xl')]) {
    const folder = openModelFolder(dir);
    const json = JSON.parse(readFileSync(folder.indexFile, 'utf8')) as unknown;
    assert.deepEqual(folderRecipe(folder), promptEncodingRecipe(json, folder.indexFile), dir);
  }
  // an SDXL folder without text_encoder_2 opens, but has no pooled embedding: named by the recipe
  const xl = openModelFolder(tinySdxl);
  const noSecond = { ...xl, components: xl.components.filter((c) => c.name !== 'text_encoder_2' && c.name !== 'tokenizer_2') };
  assert.throws(() => folderRecipe(noSecond), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${xl.indexFile}: text_encoder_2 is null or missing`));
});

/** [file, text] of every .ts file below dir. */
function sources(dir: string): Array<[string, string]> {
  return sourceFiles(dir).map((file) => [file, readFileSync(file, 'utf8')]);
}

test('src/models/ reads no files and opens no sessions; sessions are created only in src/loading/sessions.ts', () => {
  const src = join(repoRoot, 'src');
  for (const [file, text] of sources(join(src, 'models'))) {
    assert.doesNotMatch(text, /from '(node:fs|\.\.\/weights\/|\.\.\/engine\/)/, file);
  }
  const creating = sources(src).filter(([, text]) => /ModelSession\.create\(/.test(text)).map(([file]) => file.slice(src.length + 1)).sort();
  assert.deepEqual(creating, ['loading/sessions.ts']);
});
