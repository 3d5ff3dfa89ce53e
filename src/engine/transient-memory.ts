/**
 * Early collection of dead run buffers. onnxruntime-node returns every output in a fresh ArrayBuffer (its
 * binding copies out of onnxruntime's buffer), and the pipeline builds fresh batch inputs per run; V8 frees
 * such external memory only after about 64 MiB of it has piled up since its last full collection. On a
 * small model that allowance is a quarter of the process (measured on the bundled model at 8x: up to 63 MiB
 * of dead buffers at the decode peak), so after every few MiB of run buffers a full collection is started.
 */
import { measureMemory } from 'node:vm';

/**
 * Run buffer bytes between two early collections. Measured with bench:scale (bundled model): peak RSS at 8x
 * was 1.33x the 2x run's without early collections, 1.28x with an 8 MiB budget, 1.24x with 2 MiB, with no
 * change in wall time; a full collection of this small JS heap takes milliseconds.
 */
export const RUN_BUFFER_BUDGET_BYTES = 2 * 2 ** 20;
let pending = 0;

/** Counts bytes of buffers that die after a session run; starts a full GC when the budget is spent. */
export function noteRunBuffers(bytes: number): void {
  pending += bytes;
  if (pending < RUN_BUFFER_BUDGET_BYTES || typeof measureMemory !== 'function') return;
  pending = 0;
  // vm.measureMemory with eager execution is the public way to start a full collection without
  // --expose-gc; the measurement itself is not needed.
  measureMemory({ mode: 'summary', execution: 'eager' }).catch(() => {});
}
