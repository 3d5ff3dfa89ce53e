/**
 * Runs the UNet on classifier-free-guidance batches: builds the interleaved [uncond, cond] rows the
 * reference uses (spec §1.1), feeds SDXL's pooled embeddings and micro-conditioning only when the graph
 * has those inputs (so SD and SDXL differ by the graph, not by a switch), applies guidance, and counts
 * UNet sample evaluations for the report.
 */
import type { Feed, RunnableSession } from '../engine/session.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { classifierFreeGuidance } from './guidance.js';

/** The conditioning of one batch row. */
export interface RowCondition {
  /** Token embeddings [L·D] of one prompt. */
  readonly embeds: Float32Array;
  /** Pooled embedding [P] (text_time UNets). */
  readonly pooled?: Float32Array;
  /** Micro-conditioning [orig_h, orig_w, crop_top, crop_left, target_h, target_w] (text_time UNets). */
  readonly timeIds?: readonly number[];
}

/**
 * Negative and positive conditioning of one window. Without `negative` the window runs without
 * classifier-free guidance (diffusers' `do_classifier_free_guidance` false, i.e. guidance_scale <= 1):
 * one UNet row, the conditional prediction taken as it is.
 */
export interface GuidedCondition {
  readonly negative?: RowCondition;
  readonly positive: RowCondition;
}

export interface PredictOptions {
  /** CFG scale. */
  readonly guidance: number;
  readonly guidanceRescale?: number;
  /** Captured cross-attention outputs to fetch (names from the capture graph). */
  readonly captureOutputs?: readonly string[];
  /** Further graph inputs, passed as they are (e.g. a re-dilated UNet's conv_dilation). */
  readonly feeds?: Readonly<Record<string, Feed>>;
}

export interface Prediction {
  /** Guided noise prediction [V, C, h, w]. */
  readonly noise: Tensor;
  /** Captured attention probabilities [2V, q, L] per layer, rows interleaved like the batch ([V, q, L] without CFG). */
  readonly attention: Record<string, Tensor>;
  /**
   * The unguided predictions [2V, C, h, w], rows interleaved [uncond₀, cond₀, …] (for other guidance rules);
   * [V, C, h, w] of conditional rows when the conditions carry no negative (no CFG).
   */
  readonly raw: Tensor;
}

/** One UNet session plus the facts needed to feed it. */
export class UNetRunner {
  /** UNet sample evaluations so far (batch rows: both CFG halves, or one row per window without CFG). */
  calls = 0;
  readonly textTime: boolean;

  constructor(
    private readonly session: RunnableSession,
    /** Token sequence length of one prompt chunk (77) and embedding width of encoder_hidden_states; a row holds any whole number of chunks. */
    readonly seqLen: number,
    readonly embedDim: number,
    /** Most batch rows per session run (see runInChunks). */
    readonly maxRows = 16,
  ) {
    this.textTime = session.inputNames.includes('time_ids');
  }

  /**
   * ε̂ for V windows: `modelInput` is [V, C, h, w] already scaled by the scheduler, `conds` has one
   * GuidedCondition per window, `timestep` is the current t. Conditions without a negative run one
   * row per window and return the conditional prediction unguided (diffusers at guidance_scale <= 1);
   * either all conditions of a call have a negative or none has.
   */
  async predict(modelInput: Tensor, timestep: number, conds: readonly GuidedCondition[], options: PredictOptions): Promise<Prediction> {
    const [V, C, h, w] = modelInput.shape as [number, number, number, number];
    if (conds.length !== V) throw new RangeError(`UNetRunner.predict: ${V} windows but ${conds.length} conditions`);
    const cfg = conds.length > 0 && conds[0]!.negative !== undefined;
    if (conds.some((c) => (c.negative !== undefined) !== cfg)) throw new RangeError('UNetRunner.predict: some conditions have a negative and some do not');
    const per = C * h * w;
    const pairSize = cfg ? 2 : 1;
    const rows = pairSize * V;
    const sample = new Float32Array(rows * per);
    // Every row has the same chunk count (prompt and negative are padded to it); the UNet's token axis is dynamic.
    const rowLen = conds[0]?.positive.embeds.length ?? this.seqLen * this.embedDim;
    const tokens = rowLen / this.embedDim;
    if (!Number.isInteger(tokens / this.seqLen) || tokens === 0) throw new RangeError(`UNetRunner.predict: embeddings of ${rowLen} values are not a whole number of ${this.seqLen}-token chunks of width ${this.embedDim}`);
    const embeds = new Float32Array(rows * rowLen);
    let pooled: Float32Array | undefined;
    let timeIds: Float32Array | undefined;
    if (this.textTime) {
      const P = conds[0]!.positive.pooled?.length ?? 0;
      pooled = new Float32Array(rows * P);
      timeIds = new Float32Array(rows * 6);
    }
    for (let v = 0; v < V; v++) {
      const src = modelInput.data.subarray(v * per, (v + 1) * per);
      const pair = cfg ? [conds[v]!.negative!, conds[v]!.positive] : [conds[v]!.positive];
      for (let k = 0; k < pairSize; k++) {
        const r = pairSize * v + k;
        sample.set(src, r * per);
        const c = pair[k]!;
        if (c.embeds.length !== rowLen) throw new RangeError(`UNetRunner.predict: embeddings of ${c.embeds.length} values, expected ${rowLen}`);
        embeds.set(c.embeds, r * rowLen);
        if (pooled && timeIds) {
          if (!c.pooled || !c.timeIds) throw new Error('UNetRunner.predict: this UNet needs pooled embeddings and time ids');
          pooled.set(c.pooled, r * c.pooled.length);
          timeIds.set(c.timeIds, r * 6);
        }
      }
    }
    const feeds: Record<string, Feed> = {
      ...options.feeds,
      sample: tensor([rows, C, h, w], sample),
      timestep: tensor([rows], new Float32Array(rows).fill(timestep)),
      encoder_hidden_states: tensor([rows, tokens, this.embedDim], embeds),
    };
    if (pooled && timeIds) {
      feeds.text_embeds = tensor([rows, pooled.length / rows], pooled);
      feeds.time_ids = tensor([rows, 6], timeIds);
    }
    const wanted = ['out_sample', ...(options.captureOutputs ?? [])];
    const out = await this.runInChunks(feeds, rows, wanted);
    this.calls += rows;
    // diffusers applies guidance_rescale only under CFG as well
    const noise = cfg ? classifierFreeGuidance(out.out_sample!, options.guidance, options.guidanceRescale ?? 0) : out.out_sample!;
    const attention: Record<string, Tensor> = {};
    for (const name of options.captureOutputs ?? []) attention[name] = out[name]!;
    return { noise, attention, raw: out.out_sample! };
  }

  /**
   * Runs the batch in chunks of at most maxRows rows and concatenates the outputs: the rows are independent,
   * and a fixed chunk keeps the UNet's activation memory the same whatever the number of windows.
   */
  private async runInChunks(feeds: Record<string, Feed>, rows: number, wanted: readonly string[]): Promise<Record<string, Tensor>> {
    if (rows <= this.maxRows) return this.session.run(feeds, wanted);
    const perRow = new Set(['sample', 'timestep', 'encoder_hidden_states', 'text_embeds', 'time_ids']);
    const parts: Record<string, Tensor>[] = [];
    for (let start = 0; start < rows; start += this.maxRows) {
      const n = Math.min(this.maxRows, rows - start);
      const chunk: Record<string, Feed> = {};
      for (const [name, f] of Object.entries(feeds)) {
        if (!perRow.has(name)) {
          chunk[name] = f;
          continue;
        }
        const t = f as Tensor;
        const len = t.data.length / rows;
        chunk[name] = tensor([n, ...t.shape.slice(1)], t.data.subarray(start * len, (start + n) * len));
      }
      parts.push(await this.session.run(chunk, wanted));
    }
    const out: Record<string, Tensor> = {};
    for (const name of wanted) {
      const first = parts[0]![name]!;
      const data = new Float32Array(parts.reduce((a, p) => a + p[name]!.data.length, 0));
      let off = 0;
      for (const p of parts) {
        data.set(p[name]!.data, off);
        off += p[name]!.data.length;
      }
      out[name] = tensor([rows, ...first.shape.slice(1)], data);
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
