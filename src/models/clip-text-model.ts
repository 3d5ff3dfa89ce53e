/**
 * CLIP text encoder (transformers' CLIPTextModel and CLIPTextModelWithProjection, models/clip/modeling_clip.py
 * at v4.38) as one config-driven module tree whose property names are the state-dict keys:
 * `text_model.embeddings.*`, `text_model.encoder.layers.N.*`, `text_model.final_layer_norm`, and
 * `text_projection` (no bias) when the config's architecture is CLIPTextModelWithProjection.
 *
 * The graph takes `input_ids` int64 [B, S] and can emit
 *   - `last_hidden_state`        [B, S, D]  after final_layer_norm (SD 1.x / 2.x prompt embeddings)
 *   - `penultimate_hidden_state` [B, S, D]  hidden_states[-2], no final LN (SDXL prompt embeddings)
 *   - `pooler_output`            [B, D]     last_hidden_state at the eos position
 *   - `text_embeds`              [B, P]     text_projection(pooler_output) (SDXL pooled embeddings)
 *   - `hidden_states.{i}`        [B, S, D]  0 = embeddings, i = after layer i (for tests)
 * and builds only the layers the requested outputs depend on.
 */
import { GraphBuilder, type Value } from '../graph/builder.js';
import { Module, ModuleList } from '../graph/module.js';
import { Embedding, LayerNorm, Linear } from '../graph/nn.js';
import { add, gelu, matmul, mul, quickGelu, reshape, scalar, slice, softmax, transpose } from '../graph/ops.js';
import { OptionsError } from '../errors.js';
import { hasTextProjection, type CLIPTextConfig } from './clip-config.js';

/** torch.finfo(float32).min: what transformers' _create_4d_causal_attention_mask puts above the diagonal. */
const FLOAT32_MIN = -3.4028234663852886e38;

/** CLIPTextEmbeddings: token embedding plus learned absolute position embedding. */
export class CLIPTextEmbeddings extends Module {
  readonly token_embedding: Embedding;
  readonly position_embedding: Embedding;
  constructor(config: CLIPTextConfig) {
    super();
    this.token_embedding = new Embedding(config.vocab_size, config.hidden_size);
    this.position_embedding = new Embedding(config.max_position_embeddings, config.hidden_size);
  }

  forward(g: GraphBuilder, inputIds: Value, seqLen: number): Value {
    const tokens = this.token_embedding.forward(g, inputIds); // [B, S, D]
    // position_ids = arange(S): the first S rows of the table, broadcast over the batch.
    let positions = this.position_embedding.weight.value(g); // [P, D]
    if (seqLen !== this.position_embedding.numEmbeddings) positions = slice(g, positions, [0], [seqLen], [0]); // [S, D]
    return add(g, tokens, positions); // [B, S, D]
  }
}

/** CLIPAttention: multi-head self-attention with q scaled before the product, as transformers does. */
export class CLIPAttention extends Module {
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly q_proj: Linear;
  readonly out_proj: Linear;
  private readonly heads: number;
  private readonly headDim: number;
  constructor(config: CLIPTextConfig) {
    super();
    const d = config.hidden_size;
    this.heads = config.num_attention_heads;
    this.headDim = d / this.heads;
    this.k_proj = new Linear(d, d);
    this.v_proj = new Linear(d, d);
    this.q_proj = new Linear(d, d);
    this.out_proj = new Linear(d, d);
  }

  forward(g: GraphBuilder, x: Value, causalMask: Value): Value {
    const H = this.heads;
    const dh = this.headDim;
    // 1. projections, split into heads
    const q = mul(g, this.q_proj.forward(g, x), scalar(g, dh ** -0.5)); // [B, S, D]
    const k = this.k_proj.forward(g, x);
    const v = this.v_proj.forward(g, x);
    const qh = transpose(g, reshape(g, q, [0, 0, H, dh]), [0, 2, 1, 3]); // [B, H, S, dh]
    const kt = transpose(g, reshape(g, k, [0, 0, H, dh]), [0, 2, 3, 1]); // [B, H, dh, S]
    const vh = transpose(g, reshape(g, v, [0, 0, H, dh]), [0, 2, 1, 3]); // [B, H, S, dh]
    // 2. causal attention
    const scores = add(g, matmul(g, qh, kt), causalMask); // [B, H, S, S]
    const ctx = matmul(g, softmax(g, scores, -1), vh); // [B, H, S, dh]
    // 3. merge heads, output projection
    const merged = reshape(g, transpose(g, ctx, [0, 2, 1, 3]), [0, 0, -1]); // [B, S, D]
    return this.out_proj.forward(g, merged);
  }
}

/** CLIPMLP: fc1 → activation → fc2. */
export class CLIPMLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(private readonly config: CLIPTextConfig) {
    super();
    this.fc1 = new Linear(config.hidden_size, config.intermediate_size);
    this.fc2 = new Linear(config.intermediate_size, config.hidden_size);
  }

  forward(g: GraphBuilder, x: Value): Value {
    const h = this.fc1.forward(g, x); // [B, S, I]
    const act = this.config.hidden_act === 'quick_gelu' ? quickGelu(g, h) : gelu(g, h);
    return this.fc2.forward(g, act); // [B, S, D]
  }
}

/** CLIPEncoderLayer: pre-LN transformer block. */
export class CLIPEncoderLayer extends Module {
  readonly self_attn: CLIPAttention;
  readonly layer_norm1: LayerNorm;
  readonly mlp: CLIPMLP;
  readonly layer_norm2: LayerNorm;
  constructor(config: CLIPTextConfig) {
    super();
    this.self_attn = new CLIPAttention(config);
    this.layer_norm1 = new LayerNorm(config.hidden_size, config.layer_norm_eps);
    this.mlp = new CLIPMLP(config);
    this.layer_norm2 = new LayerNorm(config.hidden_size, config.layer_norm_eps);
  }

  forward(g: GraphBuilder, x: Value, causalMask: Value): Value {
    // 1. attention with residual
    const h = add(g, x, g.scope('self_attn', () => this.self_attn.forward(g, g.scope('layer_norm1', () => this.layer_norm1.forward(g, x)), causalMask)));
    // 2. MLP with residual
    return add(g, h, g.scope('mlp', () => this.mlp.forward(g, g.scope('layer_norm2', () => this.layer_norm2.forward(g, h)))));
  }
}

export class CLIPEncoder extends Module {
  readonly layers: ModuleList<CLIPEncoderLayer>;
  constructor(config: CLIPTextConfig) {
    super();
    this.layers = new ModuleList(Array.from({ length: config.num_hidden_layers }, () => new CLIPEncoderLayer(config)));
  }
}

export class CLIPTextTransformer extends Module {
  readonly embeddings: CLIPTextEmbeddings;
  readonly encoder: CLIPEncoder;
  readonly final_layer_norm: LayerNorm;
  constructor(config: CLIPTextConfig) {
    super();
    this.embeddings = new CLIPTextEmbeddings(config);
    this.encoder = new CLIPEncoder(config);
    this.final_layer_norm = new LayerNorm(config.hidden_size, config.layer_norm_eps);
  }
}

/** Names of the graph outputs besides `hidden_states.{i}`. */
export const CLIP_TEXT_OUTPUTS = ['last_hidden_state', 'penultimate_hidden_state', 'pooler_output', 'text_embeds'] as const;
export type CLIPTextOutputName = (typeof CLIP_TEXT_OUTPUTS)[number];

export interface CLIPTextForwardOptions {
  /** Outputs to compute (default: every output this model has). */
  readonly outputs?: readonly CLIPTextOutputName[];
  /** Also return every hidden state (embeddings output and each layer's output). */
  readonly hiddenStates?: boolean;
  /** Sequence length of `input_ids` (default max_position_embeddings, 77: diffusers pads to it). */
  readonly seqLen?: number;
}

export interface CLIPTextForwardResult {
  readonly last_hidden_state?: Value;
  readonly penultimate_hidden_state?: Value;
  readonly pooler_output?: Value;
  readonly text_embeds?: Value;
  readonly hidden_states?: readonly Value[];
}

/** CLIPTextModel, or CLIPTextModelWithProjection when the config says so. */
export class CLIPTextModel extends Module {
  readonly text_model: CLIPTextTransformer;
  readonly text_projection?: Linear;
  constructor(readonly config: CLIPTextConfig) {
    super();
    this.text_model = new CLIPTextTransformer(config);
    if (hasTextProjection(config)) this.text_projection = new Linear(config.hidden_size, config.projection_dim, false);
  }

  /** The outputs this model can produce. */
  get outputNames(): readonly CLIPTextOutputName[] {
    return this.text_projection ? CLIP_TEXT_OUTPUTS : CLIP_TEXT_OUTPUTS.filter((n) => n !== 'text_embeds');
  }

  forward(g: GraphBuilder, inputIds: Value, options: CLIPTextForwardOptions = {}): CLIPTextForwardResult {
    const cfg = this.config;
    const wanted = new Set(options.outputs ?? this.outputNames);
    for (const name of wanted) {
      if (!this.outputNames.includes(name)) {
        throw new OptionsError(`CLIP text encoder (${cfg.architectures[0]}) has no output "${name}"; it has ${this.outputNames.join(', ')}`);
      }
    }
    const seqLen = options.seqLen ?? cfg.max_position_embeddings;
    if (!Number.isInteger(seqLen) || seqLen < 1 || seqLen > cfg.max_position_embeddings) {
      throw new OptionsError(`CLIP text encoder: seqLen ${seqLen} must be an integer in [1, ${cfg.max_position_embeddings}]`);
    }
    const N = cfg.num_hidden_layers;
    const needFinal = options.hiddenStates || wanted.has('last_hidden_state') || wanted.has('pooler_output') || wanted.has('text_embeds');
    // SDXL's first encoder only needs hidden_states[-2]: its last layer is then dead code, so it is not built.
    const layersToRun = needFinal ? N : N - 1;
    const tm = this.text_model;

    // 1. embeddings
    const hidden: Value[] = [g.scope('text_model.embeddings', () => tm.embeddings.forward(g, inputIds, seqLen))]; // [B, S, D]

    // 2. causal mask (diffusers passes no padding mask): -inf-like above the diagonal
    const maskData = new Float32Array(seqLen * seqLen);
    for (let i = 0; i < seqLen; i++) for (let j = i + 1; j < seqLen; j++) maskData[i * seqLen + j] = FLOAT32_MIN;
    const causalMask = g.constant('float32', [seqLen, seqLen], maskData, 'causal_mask'); // [S, S]

    // 3. encoder layers
    for (let i = 0; i < layersToRun; i++) {
      const prev = hidden[i]!;
      hidden.push(g.scope(`text_model.encoder.layers.${i}`, () => tm.encoder.layers.at(i).forward(g, prev, causalMask))); // [B, S, D]
    }

    const result: { -readonly [K in keyof CLIPTextForwardResult]: CLIPTextForwardResult[K] } = {};
    if (wanted.has('penultimate_hidden_state')) result.penultimate_hidden_state = hidden[N - 1]!;
    if (options.hiddenStates) result.hidden_states = hidden;
    if (!needFinal) return result;

    // 4. final layer norm
    const last = g.scope('text_model.final_layer_norm', () => tm.final_layer_norm.forward(g, hidden[N]!)); // [B, S, D]
    if (wanted.has('last_hidden_state')) result.last_hidden_state = last;
    if (!wanted.has('pooler_output') && !wanted.has('text_embeds')) return result;

    // 5. pooling at the eos token. Legacy configs (eos_token_id 2, as in the original SD configs) pool at
    // argmax(input_ids), which is the first eos because eos is the largest id; others at the first eos_token_id.
    const pooled = g.scope('text_model.pooler', () => {
      const key = cfg.eos_token_id === 2 ? inputIds : g.op('Equal', [inputIds, g.constant('int64', [], [cfg.eos_token_id], 'eos_token_id')]);
      // ArgMax over a float copy: every CPU build has the float kernel, and ids < 2^24 convert exactly.
      const eosIndex = g.op('ArgMax', [g.op('Cast', [key], { to: 1 })], { axis: -1, keepdims: 1 }); // [B, 1]
      return g.op('GatherND', [last, eosIndex], { batch_dims: 1 }); // [B, D]
    });
    if (wanted.has('pooler_output')) result.pooler_output = pooled;

    // 6. projection (CLIPTextModelWithProjection)
    if (wanted.has('text_embeds')) result.text_embeds = g.scope('text_projection', () => this.text_projection!.forward(g, pooled)); // [B, P]
    return result;
  }
}

/** Builds the ONNX graph: input `input_ids` int64 [batch, S], the requested outputs as float32. */
export function buildCLIPTextGraph(model: CLIPTextModel, options: CLIPTextForwardOptions = {}): GraphBuilder {
  const g = new GraphBuilder('clip_text_model');
  const seqLen = options.seqLen ?? model.config.max_position_embeddings;
  const ids = g.input('input_ids', 'int64', ['batch', seqLen]);
  const out = model.forward(g, ids, options);
  const D = model.config.hidden_size;
  for (const name of CLIP_TEXT_OUTPUTS) {
    const v = out[name];
    if (!v) continue;
    const dims = name === 'pooler_output' ? ['batch', D] : name === 'text_embeds' ? ['batch', model.config.projection_dim] : ['batch', seqLen, D];
    g.output(v, name, 'float32', dims);
  }
  out.hidden_states?.forEach((v, i) => g.output(v, `hidden_states.${i}`, 'float32', ['batch', seqLen, D]));
  return g;
}
