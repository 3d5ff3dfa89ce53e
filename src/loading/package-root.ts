/**
 * Where the accdiffusion package lives: its root (found upwards from this file, wherever it was compiled to),
 * from which the library finds its shipped data/ and the bundled default model folder, and the package
 * version (the CLI's --version).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the nearest folder above this file whose package.json is named "accdiffusion". */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'accdiffusion') return dir;
      } catch {
        // an unreadable package.json is not ours; keep looking upwards
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('accdiffusion: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The bundled default model folder. */
export function defaultModelPath(): string {
  return join(packageRoot(), 'models', 'shapes-xl');
}

/** The package's version from its package.json. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
