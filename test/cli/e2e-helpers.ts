/**
 * Helpers of the CLI end-to-end tests (issues 3 and 4 "CLI tests run the real binary"): run
 * bin/accdiffusion.js as a child process, and the expected window and UNet-call counts of the
 * algorithm spec (§ cost per step, invariants: (2s−1)² views per square stage) written out here
 * independently of src/pipeline so the tests check the pipeline against the spec, not against itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

export const binPath = join(repoRoot, 'bin', 'accdiffusion.js');

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** Called with each complete stdout line as it arrives (e.g. to send a signal on a --json event). */
  readonly onStdoutLine?: (line: string, child: ChildProcess) => void;
}

/** Runs `node bin/accdiffusion.js ...args` and collects its output. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd: options.cwd ?? repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      // A stray --test flag or loader from the runner must not leak into the CLI.
      env: { ...process.env, NODE_OPTIONS: '' },
      timeout: options.timeoutMs ?? 120_000,
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (!options.onStdoutLine) return;
      pending += s;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        options.onStdoutLine(pending.slice(0, nl), child);
        pending = pending.slice(nl + 1);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000 }));
  });
}

/** Describes a failed run for assertion messages. */
export function describeRun(args: readonly string[], r: CliRun): string {
  return `accdiffusion ${args.join(' ')}\nexit ${r.code} (signal ${r.signal}) after ${r.seconds.toFixed(1)} s\n--- stdout\n${r.stdout.slice(-2000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
}

/** A fresh temporary folder; remove it with the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `accdiffusion-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Windows along one axis of extent E latent cells for a window of w cells and stride d: 1 when E ≤ w,
 * else enough windows to reach the far edge, i.e. ceil((E − w)/d) + 1 (DemoFusion's get_views).
 */
export function windowsPerAxis(extent: number, window: number, stride: number): number {
  return extent <= window ? 1 : Math.ceil((extent - window) / stride) + 1;
}

/** Windows of a latent of h × w cells. */
export function windowCount(latentHeight: number, latentWidth: number, window: number, stride: number): number {
  return windowsPerAxis(latentHeight, window, stride) * windowsPerAxis(latentWidth, window, stride);
}

/** Spec: UNet rows per step of a square stage s with the default stride (half the window): 2·((2s−1)² + s²). */
export function squareStageRowsPerStep(s: number): number {
  return 2 * ((2 * s - 1) ** 2 + s ** 2);
}

/** Whether `words` appear in `pieces` in order (each piece used at most once). */
export function isSubsequence(words: readonly string[], pieces: readonly string[]): boolean {
  let j = 0;
  for (const w of words) {
    while (j < pieces.length && pieces[j] !== w) j++;
    if (j === pieces.length) return false;
    j++;
  }
  return true;
}
