/**
 * Early collection of dead run buffers, off unless the host process asks for it. onnxruntime-node returns
 * every output in a fresh ArrayBuffer (its binding copies out of onnxruntime's buffer), and the pipeline
 * builds fresh batch inputs per run; V8 frees such external memory only after about 64 MiB of it has piled up
 * since its last full collection. On a small model that allowance is a quarter of the process (measured on
 * the bundled model at 8x: up to 63 MiB of dead buffers at the decode peak). A host that owns its process
 * (the CLI) hands a collector to `collectRunBuffersWith`; the library itself never touches V8 or its flags.
 */

/**
 * Run buffer bytes between two early collections. Measured with bench:scale (bundled model): peak RSS at 8x
 * was 1.33x the 2x run's without early collections, 1.28x with an 8 MiB budget, 1.21-1.24x with 2 MiB (1 MiB: no lower), with no
 * change in wall time; a full collection of this small JS heap takes milliseconds.
 */
export const RUN_BUFFER_BUDGET_BYTES = 2 * 2 ** 20;
let pending = 0;
let collect: (() => void) | undefined;

/**
 * Makes every session run count its input and output bytes and call `gc` (a full collection, e.g. the
 * function `node --expose-gc` puts on globalThis) after each RUN_BUFFER_BUDGET_BYTES of them; undefined turns
 * it off again (the default). Process-wide on purpose: the V8 heap it frees is the process's.
 */
export function collectRunBuffersWith(gc: (() => void) | undefined): void {
  collect = gc;
  pending = 0;
}

/** Counts bytes of buffers that die after a session run; runs the host's collector when the budget is spent. */
export function noteRunBuffers(bytes: number): void {
  if (!collect) return;
  pending += bytes;
  if (pending < RUN_BUFFER_BUDGET_BYTES) return;
  pending = 0;
  collect();
}
