/**
 * What the `accdiffusion` command sets up in its own process, and the library never does in a host's:
 * early collection of onnxruntime's dead run buffers (src/engine/transient-memory.ts), which needs V8's gc
 * function; onnxruntime's process-wide logger kept to fatal messages (engine/providers.ts quietProcessLogger);
 * and a closed pipe on stdout or stderr is not an error.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { quietProcessLogger } from '../engine/providers.js';
import { collectRunBuffersWith } from '../engine/transient-memory.js';

/**
 * V8's gc function without starting Node with --expose-gc (the way Jest's leak detector gets it); undefined
 * where this V8 refuses. vm.measureMemory({ execution: 'eager' }) would also collect, but prints an
 * ExperimentalWarning on a user's terminal.
 */
export function gcFunction(): (() => void) | undefined {
  const own = (globalThis as { gc?: () => void }).gc;
  if (typeof own === 'function') return own;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    setFlagsFromString('--no-expose-gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Called once by bin/accdiffusion.js before main(). */
export function configureCliProcess(): void {
  collectRunBuffersWith(gcFunction());
  quietProcessLogger();
  // `accdiffusion generate --json | head -3`: once the reader has gone, progress lines have nowhere to go, but the
  // run still finishes and writes its files (an unhandled EPIPE would end it with a stack trace instead).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
}
