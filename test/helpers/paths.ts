/** Paths tests use: compiled tests live in dist/test/..., fixtures stay in the source tree. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file compiles to dist/test/helpers/paths.js). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
export const oracleDir = join(fixturesDir, 'oracle');
export const modelsDir = join(fixturesDir, 'models');
export const tinySd = join(modelsDir, 'tiny-sd');
export const tinySdxl = join(modelsDir, 'tiny-sdxl');
