/**
 * Early collection of dead run buffers. onnxruntime-node returns every output in a fresh ArrayBuffer (its
 * binding copies out of onnxruntime's buffer), and the pipeline builds fresh batch inputs per run; V8 frees
 * such external memory only after about 64 MiB of it has piled up since its last full collection. On a
 * small model that allowance is a quarter of the process (measured on the bundled model at 8x: up to 63 MiB
 * of dead buffers at the decode peak), so after every few MiB of run buffers a full collection runs.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Run buffer bytes between two early collections. Measured with bench:scale (bundled model): peak RSS at 8x
 * was 1.33x the 2x run's without early collections, 1.28x with an 8 MiB budget, 1.21-1.24x with 2 MiB (1 MiB: no lower), with no
 * change in wall time; a full collection of this small JS heap takes milliseconds.
 */
export const RUN_BUFFER_BUDGET_BYTES = 2 * 2 ** 20;
let pending = 0;
let collect: (() => void) | null | undefined;

/**
 * V8's gc function without starting Node with --expose-gc (the way Jest's leak detector gets it); null
 * where this V8 refuses. vm.measureMemory({ execution: 'eager' }) would also collect, but prints an
 * ExperimentalWarning on a user's terminal.
 */
function gcFunction(): (() => void) | null {
  const own = (globalThis as { gc?: () => void }).gc;
  if (typeof own === 'function') return own;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    setFlagsFromString('--no-expose-gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/** Counts bytes of buffers that die after a session run; runs a full GC when the budget is spent. */
export function noteRunBuffers(bytes: number): void {
  pending += bytes;
  if (pending < RUN_BUFFER_BUDGET_BYTES) return;
  pending = 0;
  if (collect === undefined) collect = gcFunction();
  collect?.();
}
