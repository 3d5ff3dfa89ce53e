/**
 * Fuzzing support for the reliability tests (issue 5): a seeded PRNG (mulberry32, so every run mutates the
 * same way), and a tally that runs one case, classifies how it ended (success, or which AccDiffusionError
 * subclass) and collects anything else — a TypeError, RangeError, SyntaxError, a too-slow case — as a failure
 * with the case's description so the test can print exactly which mutation broke the loader.
 */
import { AccDiffusionError } from '../../src/errors.js';

/** mulberry32: small, fast, good enough to pick mutations; seeded so every case is reproducible. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** How one probe of a case ended. */
export type Outcome = { ok: true } | { ok: false; error: unknown };

/** A case whose ending was not success or one of the project's own errors. */
export interface FuzzFailure {
  readonly id: string;
  readonly kind: string;
  readonly detail: string;
  readonly problem: string;
}

/** Longest a single case may take before it counts as a (near-)hang. */
export const CASE_TIME_LIMIT_MS = 3000;

/**
 * Collects outcomes per mutation kind and per error class. `run` executes the probes of one case in order:
 * each probe must succeed or throw an AccDiffusionError; the case's label is its first error's class (or "ok").
 */
export class FuzzTally {
  readonly failures: FuzzFailure[] = [];
  readonly byKind = new Map<string, Map<string, number>>();
  readonly byClass = new Map<string, number>();
  cases = 0;
  slowest = { ms: 0, id: '' };
  private readonly started = performance.now();

  constructor(readonly suite: string) {}

  /**
   * Runs one case. `mustName` (optional) is a path that an error message has to mention (the file or folder
   * at fault), so that every error tells the user where the problem is.
   */
  async run(id: string, kind: string, detail: string, probes: ReadonlyArray<() => unknown>, mustName?: string | string[]): Promise<void> {
    const t0 = performance.now();
    let label = 'ok';
    for (const probe of probes) {
      let outcome: Outcome;
      try {
        await probe();
        outcome = { ok: true };
      } catch (error) {
        outcome = { ok: false, error };
      }
      if (outcome.ok) continue;
      const e = outcome.error;
      if (!(e instanceof AccDiffusionError)) {
        const text = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 4).join('\n') ?? ''}` : String(e);
        this.failures.push({ id, kind, detail, problem: `not an AccDiffusionError: ${text}` });
        label = 'FOREIGN';
        break;
      }
      const names = mustName === undefined ? [] : Array.isArray(mustName) ? mustName : [mustName];
      if (names.length > 0 && !names.some((n) => e.message.includes(n))) {
        this.failures.push({ id, kind, detail, problem: `${e.name} does not name ${names.join(' or ')}: ${e.message}` });
      }
      if (e.message.includes('\n')) this.failures.push({ id, kind, detail, problem: `${e.name} message is not one line: ${JSON.stringify(e.message)}` });
      if (label === 'ok') label = e.name;
    }
    const ms = performance.now() - t0;
    if (ms > this.slowest.ms) this.slowest = { ms, id: `${id} (${kind}: ${detail})` };
    if (ms > CASE_TIME_LIMIT_MS) this.failures.push({ id, kind, detail, problem: `took ${ms.toFixed(0)} ms (limit ${CASE_TIME_LIMIT_MS})` });
    this.cases++;
    this.byClass.set(label, (this.byClass.get(label) ?? 0) + 1);
    let k = this.byKind.get(kind);
    if (!k) this.byKind.set(kind, (k = new Map()));
    k.set(label, (k.get(label) ?? 0) + 1);
  }

  /** Human-readable summary: totals, per error class, per mutation kind. */
  summary(): string {
    const secs = ((performance.now() - this.started) / 1000).toFixed(1);
    const fmt = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
    const lines = [
      `[fuzz] ${this.suite}: ${this.cases} cases in ${secs} s, ${this.failures.length} failures; slowest ${this.slowest.ms.toFixed(0)} ms (${this.slowest.id})`,
      `[fuzz]   by ending: ${fmt(this.byClass)}`,
    ];
    for (const [kind, m] of [...this.byKind.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      const n = [...m.values()].reduce((a, b) => a + b, 0);
      lines.push(`[fuzz]   ${kind} (${n}): ${fmt(m)}`);
    }
    return lines.join('\n');
  }

  /** The failures, for an assertion message (first few in full). */
  report(max = 15): string {
    return this.failures.slice(0, max).map((f) => `- ${f.id} [${f.kind}] ${f.detail}\n    ${f.problem.replaceAll('\n', '\n    ')}`).join('\n') +
      (this.failures.length > max ? `\n... and ${this.failures.length - max} more` : '');
  }
}
