/**
 * Prompt encoding: diffusers' `encode_prompt` for StableDiffusionPipeline (pipeline_stable_diffusion.py) and
 * StableDiffusionXLPipeline (pipeline_stable_diffusion_xl.py), v0.27.2, without clip_skip / LoRA / textual
 * inversion / num_images_per_prompt (callers repeat rows themselves).
 *
 * The SD / SDXL difference is data, a PromptEncodingRecipe read from model_index.json: which text encoders
 * exist, which hidden state each contributes (SD: last_hidden_state; SDXL: hidden_states[-2] of both,
 * concatenated on the feature axis), which one gives the pooled vector (SDXL: text_encoder_2's text_embeds),
 * and whether an absent negative prompt means zero embeddings (SDXL's force_zeros_for_empty_prompt).
 *
 * Results are cached per prompt text: AccDiffusion's patch prompts repeat across windows and steps.
 * This file holds the arithmetic only; the sessions are opened in src/loading/ (text-encoders.ts, sessions.ts).
 */
import { ConfigError, OptionsError } from '../errors.js';
import type { Feed } from '../engine/session.js';
import type { CLIPTextOutputName } from '../models/clip-text-model.js';
import { type Tensor, tensor } from '../tensor/tensor.js';
import type { ModelFolder, PipelineClass } from '../weights/diffusers-folder.js';
import { applyEmphasis } from './emphasis.js';
import { chunkCount, encoderTokens, LITERAL_MODE, type EncodeMode, type EncoderTokenizer } from './encoder-tokens.js';

export { LITERAL_MODE, type EncodeMode } from './encoder-tokens.js';

/** What one text encoder contributes. */
export interface TextEncoderRole {
  /** Component folder, e.g. "text_encoder_2". */
  readonly component: string;
  /** Its tokenizer folder, e.g. "tokenizer_2". */
  readonly tokenizer: string;
  /** The hidden state that becomes (part of) the prompt embeddings. */
  readonly hiddenState: Extract<CLIPTextOutputName, 'last_hidden_state' | 'penultimate_hidden_state'>;
  /** The output that becomes the pooled prompt embedding, for the one encoder that gives it. */
  readonly pooled?: Extract<CLIPTextOutputName, 'text_embeds' | 'pooler_output'>;
}

/** How a pipeline turns prompts into conditioning; encoders' states are concatenated in this order. */
export interface PromptEncodingRecipe {
  readonly encoders: readonly TextEncoderRole[];
  /** An absent negative prompt gives zero embeddings instead of the encoding of "". */
  readonly forceZerosForEmptyPrompt: boolean;
}

type RecipeBuilder = (present: (component: string) => boolean, modelIndex: Record<string, unknown>, file: string) => PromptEncodingRecipe;

const sdRecipe: RecipeBuilder = (present, _mi, file) => {
  if (!present('text_encoder')) throw new ConfigError(`${file}: text_encoder is null or missing; this pipeline needs it`);
  return { encoders: [{ component: 'text_encoder', tokenizer: 'tokenizer', hiddenState: 'last_hidden_state' }], forceZerosForEmptyPrompt: false };
};

const sdxlRecipe: RecipeBuilder = (present, mi, file) => {
  // diffusers keeps the pooled output of the LAST encoder run, which is text_encoder_2 (the refiner has only it).
  if (!present('text_encoder_2')) throw new ConfigError(`${file}: text_encoder_2 is null or missing; SDXL pipelines take the pooled embedding from it`);
  const force = mi.force_zeros_for_empty_prompt ?? true;
  if (typeof force !== 'boolean') throw new ConfigError(`${file}: force_zeros_for_empty_prompt is ${JSON.stringify(force)}, expected true or false`);
  const encoders: TextEncoderRole[] = [];
  if (present('text_encoder')) encoders.push({ component: 'text_encoder', tokenizer: 'tokenizer', hiddenState: 'penultimate_hidden_state' });
  encoders.push({ component: 'text_encoder_2', tokenizer: 'tokenizer_2', hiddenState: 'penultimate_hidden_state', pooled: 'text_embeds' });
  return { encoders, forceZerosForEmptyPrompt: force };
};

/** Pipeline classes (model_index `_class_name`, the list of weights/diffusers-folder.ts) and their prompt encoding. */
const RECIPES: Readonly<Record<PipelineClass, RecipeBuilder>> = {
  StableDiffusionPipeline: sdRecipe,
  StableDiffusionImg2ImgPipeline: sdRecipe,
  StableDiffusionXLPipeline: sdxlRecipe,
  StableDiffusionXLImg2ImgPipeline: sdxlRecipe,
};

/** Reads the recipe from a parsed model_index.json (`file` is named in errors). */
export function promptEncodingRecipe(modelIndex: unknown, file: string): PromptEncodingRecipe {
  if (typeof modelIndex !== 'object' || modelIndex === null || Array.isArray(modelIndex)) throw new ConfigError(`${file}: expected a JSON object`);
  const mi = modelIndex as Record<string, unknown>;
  const cls = mi._class_name;
  const build = typeof cls === 'string' && Object.hasOwn(RECIPES, cls) ? RECIPES[cls as PipelineClass] : undefined;
  if (!build) throw new ConfigError(`${file}: _class_name is ${JSON.stringify(cls)}, expected one of ${Object.keys(RECIPES).join(', ')}`);
  const present = (c: string): boolean => Array.isArray(mi[c]) && typeof (mi[c] as unknown[])[1] === 'string';
  return build(present, mi, file);
}

/**
 * The recipe of an opened model folder (openModelFolder has validated model_index.json; errors name its file).
 * @throws ConfigError when an SDXL folder has no text_encoder_2 (the pooled embedding comes from it).
 */
export function folderRecipe(folder: ModelFolder): PromptEncodingRecipe {
  const present = (c: string): boolean => folder.components.some((x) => x.name === c);
  return RECIPES[folder.pipelineClass](present, { force_zeros_for_empty_prompt: folder.forceZerosForEmptyPrompt }, folder.indexFile);
}

/** The part of a tokenizer prompt encoding needs (CLIPTokenizer has it). */
export type PromptTokenizer = EncoderTokenizer;

/** The part of a session prompt encoding needs (ModelSession has it). */
export interface TextEncoderRunner {
  run(feeds: Record<string, Feed>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
  release?(): Promise<void>;
}

/** One text encoder ready to run, with its role. */
export interface TextEncoderPart {
  readonly role: TextEncoderRole;
  readonly tokenizer: PromptTokenizer;
  readonly session: TextEncoderRunner;
  /** Width of its hidden states. */
  readonly hiddenSize: number;
  /** Width of its pooled output, when role.pooled is set. */
  readonly pooledSize?: number;
}

/** Conditioning for a batch of prompts. */
export interface PromptEmbeddings {
  /** [B, chunks·77, ΣD] (77 = the tokenizers' model_max_length) */
  readonly promptEmbeds: Tensor;
  /** [B, P], for recipes with a pooled output. */
  readonly pooled?: Tensor;
}

export interface PromptEncoder {
  /**
   * Embeddings of `prompts`; with two encoders, `prompts2` (default `prompts`) goes to the second (diffusers'
   * prompt_2). `mode` (default LITERAL_MODE, diffusers' way) says how the text is read and how many chunks.
   */
  encode(prompts: readonly string[], prompts2?: readonly string[], mode?: EncodeMode): Promise<PromptEmbeddings>;
}

/** diffusers' encode_prompt(..., do_classifier_free_guidance=True) arguments. */
export interface EncodePromptArgs {
  readonly prompt: readonly string[];
  readonly prompt2?: readonly string[];
  /** One per prompt, or one for all; absent means "" or zeros (force_zeros_for_empty_prompt). */
  readonly negativePrompt?: readonly string[];
  readonly negativePrompt2?: readonly string[];
}

/** encode_prompt's four outputs (pooled ones only for recipes with a pooled output). */
export interface EncodedPrompt {
  readonly promptEmbeds: Tensor;
  readonly negativePromptEmbeds: Tensor;
  readonly pooledPromptEmbeds?: Tensor;
  readonly negativePooledPromptEmbeds?: Tensor;
}

export interface PromptEncoderOptions {
  readonly forceZerosForEmptyPrompt?: boolean;
  /** Prompts kept (least recently used dropped first); default 64. */
  readonly cacheSize?: number;
  /** Called with a truncation warning when a user's prompt is longer than the mode allows (once per prompt while cached). */
  readonly onWarning?: (message: string) => void;
}

interface CachedRow {
  readonly embeds: Float32Array; // [chunks·S, ΣD]
  readonly pooled?: Float32Array; // [P]
}

/** Prompts per text-encoder run. */
const ENCODE_BATCH = 16;

/** Runs the recipe's encoders and assembles the conditioning, caching each prompt's row. */
export class CachedPromptEncoder implements PromptEncoder {
  readonly seqLen: number;
  readonly embedDim: number;
  readonly pooledDim: number | undefined;
  private readonly forceZeros: boolean;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, CachedRow>();
  private readonly onWarning: ((message: string) => void) | undefined;
  /** Encoder runs so far (rows actually computed), for callers measuring the cache. */
  encodedRows = 0;

  constructor(readonly parts: readonly TextEncoderPart[], options: PromptEncoderOptions = {}) {
    if (parts.length === 0) throw new ConfigError('prompt encoding needs at least one text encoder');
    this.seqLen = parts[0]!.tokenizer.maxLength;
    for (const p of parts) {
      if (p.tokenizer.maxLength !== this.seqLen) {
        throw new ConfigError(`${p.role.tokenizer}: model_max_length ${p.tokenizer.maxLength} differs from ${parts[0]!.role.tokenizer}'s ${this.seqLen}; their states cannot be concatenated`);
      }
    }
    const pooling = parts.filter((p) => p.role.pooled);
    if (pooling.length > 1) throw new ConfigError(`more than one text encoder gives the pooled embedding (${pooling.map((p) => p.role.component).join(', ')})`);
    this.embedDim = parts.reduce((s, p) => s + p.hiddenSize, 0);
    this.pooledDim = pooling[0]?.pooledSize;
    if (pooling.length && this.pooledDim === undefined) throw new ConfigError(`${pooling[0]!.role.component}: pooledSize is required for an encoder that gives the pooled embedding`);
    this.forceZeros = options.forceZerosForEmptyPrompt ?? false;
    this.cacheSize = options.cacheSize ?? 64;
    this.onWarning = options.onWarning;
  }

  async encode(prompts: readonly string[], prompts2?: readonly string[], mode: EncodeMode = LITERAL_MODE): Promise<PromptEmbeddings> {
    if (prompts2 && prompts2.length !== prompts.length) throw new OptionsError(`prompt_2 has ${prompts2.length} entries but prompt has ${prompts.length}`);
    if (!Number.isInteger(mode.chunks) || mode.chunks < 1) throw new OptionsError(`prompt chunks must be a positive integer, got ${mode.chunks}`);
    // Texts per prompt row, one per encoder: the first encoder reads prompt, the others prompt_2.
    const texts = prompts.map((p, b) => this.parts.map((_, i) => (i === 0 ? p : (prompts2?.[b] ?? p))));
    const keys = texts.map((t) => JSON.stringify([mode.weighting, mode.chunks, ...t]));
    const textOf = new Map(keys.map((k, b) => [k, texts[b]!]));
    const missing = [...new Set(keys.filter((k) => !this.cache.has(k)))];
    // Fixed-size batches: one batch shape for the encoder sessions, so their memory does not grow with the
    // number of windows (a 4096² SDXL stage has 49 patch prompts; 8× has 225). Each prompt runs `chunks` rows.
    const perBatch = Math.max(1, Math.floor(ENCODE_BATCH / mode.chunks));
    let n = 0; // window prompts cut
    for (let i = 0; i < missing.length; i += perBatch) {
      const batch = missing.slice(i, i + perBatch);
      n += await this.compute(batch.map((k) => textOf.get(k)!), batch, mode);
    }
    if (n > 0) {
      this.onWarning?.(`${n} distinct window prompt${n === 1 ? '' : 's'} that AccDiffusion built from the words of your prompt re-tokenise${n === 1 ? 's' : ''} to more than ${mode.chunks * (this.seqLen - 2)} tokens and ${n === 1 ? 'was' : 'were'} cut there (your prompt itself was not cut)`);
    }

    // 3. assemble the batch from cached rows
    const seq = mode.chunks * this.seqLen;
    const rowSize = seq * this.embedDim;
    const embeds = tensor([prompts.length, seq, this.embedDim]);
    const pooled = this.pooledDim !== undefined ? tensor([prompts.length, this.pooledDim]) : undefined;
    keys.forEach((k, b) => {
      const row = this.cache.get(k)!;
      // Re-insert: Map order is the LRU order.
      this.cache.delete(k);
      this.cache.set(k, row);
      embeds.data.set(row.embeds, b * rowSize);
      if (pooled) pooled.data.set(row.pooled!, b * this.pooledDim!);
    });
    this.evict();
    return pooled ? { promptEmbeds: embeds, pooled } : { promptEmbeds: embeds };
  }

  /**
   * Negative conditioning for `batchSize` rows: zeros when no negative prompt is given and the recipe forces
   * zeros, otherwise the encoding of the negative prompts ("" when absent).
   */
  async encodeNegative(batchSize: number, negativePrompt?: readonly string[], negativePrompt2?: readonly string[], mode: EncodeMode = LITERAL_MODE): Promise<PromptEmbeddings> {
    if (negativePrompt === undefined && this.forceZeros) {
      const promptEmbeds = tensor([batchSize, mode.chunks * this.seqLen, this.embedDim]);
      return this.pooledDim !== undefined ? { promptEmbeds, pooled: tensor([batchSize, this.pooledDim]) } : { promptEmbeds };
    }
    const fit = (list: readonly string[] | undefined, name: string): string[] | undefined => {
      if (list === undefined) return undefined;
      if (list.length === 1) return new Array<string>(batchSize).fill(list[0]!);
      if (list.length !== batchSize) throw new OptionsError(`${name} has ${list.length} entries but there are ${batchSize} prompts`);
      return [...list];
    };
    const neg = fit(negativePrompt, 'negative_prompt') ?? new Array<string>(batchSize).fill('');
    // diffusers: negative_prompt_2 = negative_prompt_2 or negative_prompt.
    return this.encode(neg, fit(negativePrompt2, 'negative_prompt_2') ?? neg, mode);
  }

  /**
   * Chunks of 75 tokens `text` needs when weighted: the most over the encoders' tokenizers (at least 1). A run
   * encodes its prompt and negative prompt with the larger of their counts (see EncodeMode.chunks).
   */
  chunksFor(text: string): number {
    return Math.max(...this.parts.map((p) => chunkCount(p.tokenizer, text)));
  }

  /** diffusers' encode_prompt with classifier-free guidance. */
  async encodePrompt(args: EncodePromptArgs): Promise<EncodedPrompt> {
    const pos = await this.encode(args.prompt, args.prompt2);
    const neg = await this.encodeNegative(args.prompt.length, args.negativePrompt, args.negativePrompt2);
    return {
      promptEmbeds: pos.promptEmbeds,
      negativePromptEmbeds: neg.promptEmbeds,
      ...(pos.pooled ? { pooledPromptEmbeds: pos.pooled, negativePooledPromptEmbeds: neg.pooled! } : {}),
    };
  }

  /** Drops every cached prompt. */
  clearCache(): void {
    this.cache.clear();
  }

  get cachedPrompts(): number {
    return this.cache.size;
  }

  async release(): Promise<void> {
    for (const p of this.parts) await p.session.release?.();
  }

  /**
   * Runs every encoder once on the uncached prompts and stores them: each prompt is `mode.chunks` rows of S
   * tokens (one row in literal mode), each row's hidden states get A1111's emphasis (weighted mode), and the
   * rows are concatenated on the token axis. The pooled vector is the first chunk's (as A1111), unweighted.
   * Returns how many `window` prompts were cut (user prompts that are cut are warned about here).
   */
  private async compute(texts: string[][], keys: string[], mode: EncodeMode): Promise<number> {
    const n = texts.length;
    const S = this.seqLen;
    const K = mode.chunks;
    const rows = Array.from({ length: n }, () => ({ embeds: new Float32Array(K * S * this.embedDim), pooled: undefined as Float32Array | undefined }));
    const warned = new Set<number>();
    let windowCuts = 0;
    let offset = 0;
    for (const [i, part] of this.parts.entries()) {
      // 1. tokenize: n·K rows of S ids
      const ids = new BigInt64Array(n * K * S);
      const multipliers: (number[][] | undefined)[] = [];
      texts.forEach((t, b) => {
        const enc = encoderTokens(part.tokenizer, t[i]!, mode);
        if (enc.cutText !== undefined && !warned.has(b)) {
          warned.add(b); // once per prompt, not once per encoder
          if (mode.source === 'window') windowCuts++;
          else if (!mode.weighting) this.onWarning?.(`The following part of your input was truncated because CLIP can only handle sequences up to ${S} tokens: ${enc.cutText}`);
          else this.onWarning?.(`Your ${mode.source === 'negative' ? 'negative prompt' : 'prompt'} has ${enc.tokenCount} tokens; only the first ${enc.keptTokens} (${K} chunk${K === 1 ? '' : 's'} of ${S - 2}, --max-prompt-chunks) are used. Cut: ${enc.cutText}`);
        }
        ids.set(enc.ids.map(BigInt), b * K * S);
        multipliers.push(enc.multipliers);
      });
      // 2. encode; the chosen hidden state, with emphasis, fills this encoder's slice of the feature axis
      const names = part.role.pooled ? [part.role.hiddenState, part.role.pooled] : [part.role.hiddenState];
      const out = await part.session.run({ input_ids: { data: ids, shape: [n * K, S] } }, names);
      const hs = out[part.role.hiddenState];
      const D = part.hiddenSize;
      if (!hs || hs.shape.join() !== [n * K, S, D].join()) throw new Error(`${part.role.component}: ${part.role.hiddenState} has shape [${hs?.shape}], expected [${[n * K, S, D]}]`);
      for (let b = 0; b < n; b++) {
        for (let c = 0; c < K; c++) {
          const r = b * K + c;
          const z = hs.data.slice(r * S * D, (r + 1) * S * D); // [S, D]
          const m = multipliers[b]?.[c];
          if (m) applyEmphasis(z, m, D);
          for (let s = 0; s < S; s++) rows[b]!.embeds.set(z.subarray(s * D, (s + 1) * D), (c * S + s) * this.embedDim + offset);
        }
      }
      offset += D;
      if (part.role.pooled) {
        const p = out[part.role.pooled]!;
        const P = this.pooledDim!;
        for (let b = 0; b < n; b++) rows[b]!.pooled = p.data.slice(b * K * P, (b * K + 1) * P);
      }
    }
    this.encodedRows += n;
    keys.forEach((k, b) => this.cache.set(k, rows[b]!.pooled ? { embeds: rows[b]!.embeds, pooled: rows[b]!.pooled! } : { embeds: rows[b]!.embeds }));
    return windowCuts;
  }

  private evict(): void {
    for (const k of this.cache.keys()) {
      if (this.cache.size <= this.cacheSize) break;
      this.cache.delete(k);
    }
  }
}
