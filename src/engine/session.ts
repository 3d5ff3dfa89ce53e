/**
 * One onnxruntime-node inference session over a graph built in memory whose initializers point into
 * safetensors files (external data). Knows nothing about what the graph computes; checks feeds against
 * the graph's input names and returns float32 outputs as Tensors.
 */
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../tensor/tensor.js';
import { executionProviders, type Device } from './providers.js';
import { noteRunBuffers } from './transient-memory.js';

export interface SessionOptions {
  /** Folder the external-data locations are relative to (the real folder of the weight files). */
  readonly weightsDir: string;
  readonly device?: Device;
  /** Intra-op threads (default: onnxruntime's choice, one per core). */
  readonly threads?: number;
  /**
   * onnxruntime's CPU memory arena (default on). The arena keeps the largest blocks it ever allocated; a
   * session fed many input shapes (the VAE decoder) grows with each, so it can be turned off there.
   */
  readonly memoryArena?: boolean;
  /**
   * onnxruntime's per-shape memory plans (default on). Off, intermediate buffers come from the arena op by op:
   * measured on the bundled model at 8x, peak RSS 322 MiB instead of 401 MiB for about 5% more time.
   */
  readonly memoryPattern?: boolean;
}

/** An input value: float32 tensors, or int64 ids/timesteps. */
export type Feed = Tensor | { readonly data: BigInt64Array; readonly shape: readonly number[] };

/**
 * The onnxruntime options for a session. Exported so that a test can check the config keys: onnxruntime
 * joins nested `extra` keys with '.' and ignores keys it does not know, so a misspelt key fails silently.
 */
export function ortSessionOptions(options: SessionOptions, executionProviders: ort.InferenceSession.SessionOptions['executionProviders']): ort.InferenceSession.SessionOptions {
  return {
    ...(executionProviders ? { executionProviders } : {}),
    graphOptimizationLevel: 'all',
    // Warnings only: half weights are overridable initializers on purpose (see Parameter.value), and
    // onnxruntime warns about each of them.
    logSeverityLevel: 3,
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    // Nodes run one after another; no inter-op pool competing with the intra-op threads for the cores.
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(options.memoryArena === false ? { enableCpuMemArena: false } : {}),
    ...(options.memoryPattern === false ? { enableMemPattern: false } : {}),
    extra: {
      // session.model_external_initializers_file_folder_path and session.disable_prepacking
      session: {
        model_external_initializers_file_folder_path: options.weightsDir,
        // Prepacking keeps a second, repacked copy of the weights; bench:unet (SD1.5-size UNet, 2 threads) saw no
        // speed difference beyond the machine's run-to-run drift (README, Speed and memory).
        disable_prepacking: '1',
      },
    },
  };
}

/**
 * What the pipeline needs of a session: its input names and a run. ModelSession implements it; tests use
 * stand-ins computing known functions.
 */
export interface RunnableSession {
  readonly inputNames: readonly string[];
  run(feeds: Record<string, Feed>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** A loaded graph ready to run. */
export class ModelSession implements RunnableSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(modelBytes: Uint8Array, options: SessionOptions): Promise<ModelSession> {
    const session = await ort.InferenceSession.create(modelBytes, ortSessionOptions(options, await executionProviders(options.device ?? 'cpu')));
    return new ModelSession(session);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph; `outputs` selects which outputs to fetch (default all). */
  async run(feeds: Record<string, Feed>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const missing = this.session.inputNames.filter((n) => !(n in feeds));
    if (missing.length) throw new Error(`ModelSession.run: missing inputs ${missing.join(', ')}`);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      const f = feeds[name]!;
      ortFeeds[name] = f.data instanceof BigInt64Array ? new ort.Tensor('int64', f.data, [...f.shape]) : new ort.Tensor('float32', f.data, [...f.shape]);
    }
    const result = outputs ? await this.session.run(ortFeeds, [...outputs]) : await this.session.run(ortFeeds);
    const out: Record<string, Tensor> = {};
    let bytes = 0;
    for (const f of Object.values(feeds)) bytes += f.data.byteLength;
    for (const [name, t] of Object.entries(result)) {
      bytes += (t.data as Float32Array).byteLength;
      if (t.type !== 'float32') throw new Error(`ModelSession.run: output ${name} is ${t.type}, expected float32`);
      out[name] = { data: t.data as Float32Array, shape: t.dims.map(Number) };
    }
    noteRunBuffers(bytes);
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
