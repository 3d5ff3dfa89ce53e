/**
 * diffusers v0.27 `UNet2DConditionModel` (unets/unet_2d_condition.py) as a config-driven module tree, and
 * the ONNX graph of its forward pass with optional capture of cross-attention (attn2) probabilities, as
 * AccDiffusion's attention store records them (spec §2; ORACLE-README §4.5). SD 1.x, SD 2.x and SDXL differ
 * only in config values: heads per level, linear projections, transformer depth, "text_time" embeddings.
 * Build options for the comparison baselines: Attn-SF's self-attention scaling (attention.ts) and
 * ScaleCrafter's run-time re-dilated convs (redilated-conv.ts), both on the same weights.
 */
import { GraphBuilder, type Value } from '../graph/builder.js';
import { Module, ModuleList, bindWeights, type WeightLookup } from '../graph/module.js';
import { Conv2d, GroupNorm } from '../graph/nn.js';
import { add, concat, mul, scalar, slice, sub } from '../graph/ops.js';
import { OptionsError } from '../errors.js';
import { activation } from './activations.js';
import { Attention, type AttentionContext } from './attention.js';
import { Timesteps, TimestepEmbedding } from './embeddings.js';
import { redilatedConv } from './redilated-conv.js';
import { DownBlock, MidBlock, UpBlock, type BlockCommon, type BlockInputs } from './unet-2d-blocks.js';
import type { UNet2DConditionConfig } from './unet-config.js';

/** The up blocks: every per-level list reversed, as diffusers does. */
function upBlocks(c: UNet2DConditionConfig, common: BlockCommon): ModuleList<UpBlock> {
  const n = c.block_out_channels.length;
  const rev = <T>(xs: readonly T[]): T[] => [...xs].reverse();
  const rBoc = rev(c.block_out_channels);
  const rHeads = rev(c.num_attention_heads);
  const rLayers = rev(c.layers_per_block);
  const rCross = rev(c.cross_attention_dim);
  const rDepth = c.reverse_transformer_layers_per_block ?? rev(c.transformer_layers_per_block);
  const rOnly = rev(c.only_cross_attention);
  return new ModuleList(
    c.up_block_types.map((type, i) => {
      const level = {
        numLayers: rLayers[i]! + 1,
        transformerLayersPerBlock: rDepth[i]!,
        inChannels: rBoc[Math.min(i + 1, n - 1)]!,
        outChannels: rBoc[i]!,
        prevOutputChannel: i === 0 ? rBoc[0]! : rBoc[i - 1]!,
        crossAttentionDim: rCross[i]!,
        numAttentionHeads: rHeads[i]!,
        onlyCrossAttention: rOnly[i]!,
      };
      return new UpBlock(type, common, level, i !== n - 1);
    }),
  );
}

/** UNet2DConditionModel; property names are the state-dict prefixes. */
export class UNet2DConditionModel extends Module {
  readonly conv_in: Conv2d;
  readonly time_proj: Timesteps;
  readonly time_embedding: TimestepEmbedding;
  readonly add_time_proj?: Timesteps;
  readonly add_embedding?: TimestepEmbedding;
  readonly down_blocks: ModuleList<DownBlock>;
  readonly mid_block?: MidBlock;
  readonly up_blocks: ModuleList<UpBlock>;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  declare readonly config: UNet2DConditionConfig;

  constructor(config: UNet2DConditionConfig) {
    super();
    Object.defineProperty(this, 'config', { enumerable: false, value: config });
    const c = config;
    const boc = c.block_out_channels;
    const n = boc.length;
    // input
    this.conv_in = new Conv2d(c.in_channels, boc[0]!, c.conv_in_kernel, { padding: (c.conv_in_kernel - 1) >> 1 });
    // time
    const timeEmbedDim = c.time_embedding_dim ?? boc[0]! * 4;
    this.time_proj = new Timesteps(boc[0]!, c.flip_sin_to_cos, c.freq_shift);
    this.time_embedding = new TimestepEmbedding(boc[0]!, timeEmbedDim, c.act_fn, c.timestep_post_act);
    if (c.addition_embed_type === 'text_time') {
      this.add_time_proj = new Timesteps(c.addition_time_embed_dim!, c.flip_sin_to_cos, c.freq_shift);
      this.add_embedding = new TimestepEmbedding(c.projection_class_embeddings_input_dim!, timeEmbedDim);
    }
    const common: BlockCommon = {
      tembChannels: timeEmbedDim,
      resnetEps: c.norm_eps,
      resnetActFn: c.act_fn,
      resnetGroups: c.norm_num_groups,
      resnetTimeScaleShift: c.resnet_time_scale_shift,
      useLinearProjection: c.use_linear_projection,
    };
    // down
    this.down_blocks = new ModuleList(
      c.down_block_types.map((type, i) => {
        const level = {
          numLayers: c.layers_per_block[i]!,
          transformerLayersPerBlock: c.transformer_layers_per_block[i]!,
          inChannels: i === 0 ? boc[0]! : boc[i - 1]!,
          outChannels: boc[i]!,
          crossAttentionDim: c.cross_attention_dim[i]!,
          numAttentionHeads: c.num_attention_heads[i]!,
          onlyCrossAttention: c.only_cross_attention[i]!,
        };
        return new DownBlock(type, common, level, i !== n - 1, c.downsample_padding);
      }),
    );
    // mid
    if (c.mid_block_type) {
      this.mid_block = new MidBlock(
        c.mid_block_type,
        common,
        {
          inChannels: boc[n - 1]!,
          transformerLayersPerBlock: c.transformer_layers_per_block[n - 1]!,
          crossAttentionDim: c.cross_attention_dim[n - 1]!,
          numAttentionHeads: c.num_attention_heads[n - 1]!,
        },
        c.mid_block_scale_factor,
      );
    }
    this.up_blocks = upBlocks(c, common);
    // out
    this.conv_norm_out = new GroupNorm(c.norm_num_groups, boc[0]!, c.norm_eps);
    this.conv_out = new Conv2d(boc[0]!, c.out_channels, c.conv_out_kernel, { padding: (c.conv_out_kernel - 1) >> 1 });
    // Attention modules learn their state-dict path so captured outputs can be named after it.
    for (const [path, m] of namedModules(this)) if (m instanceof Attention) m.path = path;
  }

  /** Graph inputs → out_sample [B, out_channels, H, W]. */
  forward(ctx: AttentionContext, inputs: UNetInputs): Value {
    const g = ctx.g;
    const c = this.config;
    let sample = inputs.sample;
    // 0. center input if necessary
    if (c.center_input_sample) sample = sub(g, mul(g, sample, scalar(g, 2)), scalar(g, 1));
    // 1. time: one timestep per batch row (a single one is broadcast, as diffusers does)
    const batch = slice(g, g.op('Shape', [sample]), [0], [1], [0]);
    const timesteps = g.op('Expand', [inputs.timestep, batch]); // [B]
    let emb = g.scope('time_embedding', () => this.time_embedding.forward(g, this.time_proj.forward(g, timesteps))); // [B, T]
    if (this.add_time_proj && this.add_embedding) {
      const addTimeProj = this.add_time_proj;
      const addEmbedding = this.add_embedding;
      const aug = g.scope('add_embedding', () => {
        const timeEmbeds = addTimeProj.forwardRows(g, inputs.time_ids!); // [B, 6·addition_time_embed_dim]
        const addEmbeds = concat(g, [inputs.text_embeds!, timeEmbeds], -1); // [B, projection_class_embeddings_input_dim]
        return addEmbedding.forward(g, addEmbeds); // [B, T]
      });
      emb = add(g, emb, aug);
    }
    if (c.time_embedding_act_fn) emb = activation(g, c.time_embedding_act_fn, emb);
    const inp: BlockInputs = { ctx, temb: emb, encoderHiddenStates: inputs.encoder_hidden_states };
    // 2. pre-process
    let h = g.scope('conv_in', () => this.conv_in.forward(g, sample)); // [B, C0, H, W]
    // 3. down
    const skips: Value[] = [h];
    this.down_blocks.items.forEach((block, i) => {
      const out = g.scope(`down_blocks.${i}`, () => block.forward(inp, h));
      h = out.hidden; // [B, Ci, H/2^(i+1), W/2^(i+1)] (no downsampling on the last level)
      skips.push(...out.skips);
    });
    // 4. mid
    const mid = this.mid_block;
    if (mid) h = g.scope('mid_block', () => mid.forward(inp, h));
    // 5. up: each block consumes its skips from the end; it upsamples to the size of the next skip
    this.up_blocks.items.forEach((block, i) => {
      const take = block.resnets.length;
      const res = skips.splice(skips.length - take, take);
      const upsampleTo = skips.length > 0 ? skips[skips.length - 1]! : null;
      h = g.scope(`up_blocks.${i}`, () => block.forward(inp, h, res, block.upsamplers ? upsampleTo : null));
    });
    // 6. post-process
    return g.scope('conv_out', () => {
      const normed = activation(g, c.act_fn, this.conv_norm_out.forward(g, h));
      return this.conv_out.forward(g, normed); // [B, out_channels, H, W]
    });
  }
}

/** The forward inputs as graph values. */
export interface UNetInputs {
  readonly sample: Value;
  readonly timestep: Value;
  readonly encoder_hidden_states: Value;
  readonly text_embeds?: Value;
  readonly time_ids?: Value;
}

/** [path, module] for every module below `root` (depth first, declaration order), like torch's named_modules. */
export function* namedModules(root: Module, prefix = ''): Generator<[string, Module]> {
  for (const [name, v] of Object.entries(root)) {
    if (!(v instanceof Module)) continue;
    const path = prefix ? `${prefix}.${name}` : name;
    yield [path, v];
    yield* namedModules(v, path);
  }
}

/** One cross-attention layer of the UNet. */
export interface CrossAttentionLayer {
  /** Module path, e.g. "down_blocks.2.attentions.0.transformer_blocks.1.attn2" (the captured output's name). */
  readonly path: string;
  readonly location: 'down' | 'mid' | 'up';
  /** Spatial downsampling relative to the latent: queries = (H/f)·(W/f) for a latent of H×W (power-of-2 sizes). */
  readonly downsampleFactor: number;
  readonly heads: number;
}

/**
 * Every attn2 layer of a model, in forward order, with its resolution. AccDiffusion uses the down and up
 * layers with downsampleFactor 4 (1/32 of the image), not the mid block's.
 */
export function crossAttentionLayers(model: UNet2DConditionModel): CrossAttentionLayer[] {
  const out: CrossAttentionLayer[] = [];
  const n = model.config.block_out_channels.length;
  for (const [path, m] of namedModules(model)) {
    if (!(m instanceof Attention) || !path.endsWith('.attn2')) continue;
    const [where, idx] = path.split('.') as [string, string];
    const level = where === 'down_blocks' ? Number(idx) : where === 'mid_block' ? n - 1 : n - 1 - Number(idx);
    out.push({ path, location: where === 'down_blocks' ? 'down' : where === 'mid_block' ? 'mid' : 'up', downsampleFactor: 2 ** level, heads: m.heads });
  }
  const order = { down: 0, mid: 1, up: 2 } as const;
  return out.sort((a, b) => order[a.location] - order[b.location]);
}

export interface UNetGraphOptions {
  /** Cross-attention layers whose head-averaged probabilities become outputs named by their path. */
  readonly captureAttn2?: 'none' | 'all' | readonly string[];
  /** 'fused' (default): com.microsoft.MultiHeadAttention where nothing is captured; 'explicit': MatMul/Softmax everywhere. */
  readonly attention?: 'fused' | 'explicit';
  /**
   * Attn-SF: token count at inference / at training (the area ratio of the latents). Self-attention
   * logits get the entropy factor sqrt(log(N)/log(N/ratio)); 1 or absent leaves the graph unchanged.
   */
  readonly selfAttentionTokenRatio?: number;
  /**
   * ScaleCrafter: conv module paths (e.g. "mid_block.resnets.0.conv1") whose dilation is read at run time
   * from the int64 input `conv_dilation` [K] (entry k for redilate[k]; 1 = the plain conv), sharing the
   * plain conv's weights. Empty or absent: no such input.
   */
  readonly redilate?: readonly string[];
}

/**
 * The forward graph. Inputs: sample [B, in, H, W], timestep [B] (or [1]), encoder_hidden_states [B, L, D],
 * plus text_embeds [B, P] and time_ids [B, 6] with text_time; output out_sample, then one [B, H·W/f², L]
 * output per captured attn2 layer. Batch, size and token count are symbolic.
 */
export function buildUNetGraph(model: UNet2DConditionModel, options: UNetGraphOptions = {}): GraphBuilder {
  const c = model.config;
  const layers = crossAttentionLayers(model).map((l) => l.path);
  const want = options.captureAttn2 ?? 'none';
  let chosen: Set<string>;
  if (want === 'none') chosen = new Set();
  else if (want === 'all') chosen = new Set(layers);
  else {
    for (const p of want) if (!layers.includes(p)) throw new OptionsError(`captureAttn2: "${p}" is not a cross-attention layer of this UNet (have ${layers.join(', ')})`);
    chosen = new Set(want);
  }
  const g = new GraphBuilder('unet');
  const inputs: UNetInputs = {
    sample: g.input('sample', 'float32', ['batch', c.in_channels, 'height', 'width']),
    timestep: g.input('timestep', 'float32', ['timestep_batch']),
    encoder_hidden_states: g.input('encoder_hidden_states', 'float32', ['batch', 'tokens', c.cross_attention_dim[0]!]),
    ...(c.addition_embed_type === 'text_time'
      ? {
          text_embeds: g.input('text_embeds', 'float32', ['batch', c.projection_class_embeddings_input_dim! - 6 * c.addition_time_embed_dim!]),
          time_ids: g.input('time_ids', 'float32', ['batch', 6]),
        }
      : {}),
  };
  const ratio = options.selfAttentionTokenRatio;
  if (ratio !== undefined && !(Number.isFinite(ratio) && ratio > 0)) throw new OptionsError(`selfAttentionTokenRatio must be a positive number, got ${ratio}`);
  const ctx: AttentionContext = {
    g, fused: (options.attention ?? 'fused') === 'fused', capture: (p) => chosen.has(p), captured: new Map(),
    ...(ratio !== undefined ? { selfAttentionTokenRatio: ratio } : {}),
  };
  const restore = redilateConvs(g, model, options.redilate ?? []);
  try {
    g.output(model.forward(ctx, inputs), 'out_sample');
  } finally {
    restore();
  }
  for (const p of layers) {
    const v = ctx.captured.get(p);
    if (v) g.output(v, p);
  }
  return g;
}

/** Every 3×3 conv of the UNet with "same" padding (those re-dilation can change), by module path. */
export function redilatableConvs(model: UNet2DConditionModel): Map<string, Conv2d> {
  const out = new Map<string, Conv2d>();
  for (const [path, m] of namedModules(model)) {
    if (m instanceof Conv2d && m.kernelSize === 3 && (m.options.padding ?? 0) === 1) out.set(path, m);
  }
  return out;
}

/**
 * Points the chosen convs' forward at the run-time-dilated version for the duration of one graph build
 * (the modules stay shared with other graphs); returns the undo.
 */
function redilateConvs(g: GraphBuilder, model: UNet2DConditionModel, paths: readonly string[]): () => void {
  if (paths.length === 0) return () => {};
  const convs = redilatableConvs(model);
  for (const p of paths) if (!convs.has(p)) throw new OptionsError(`redilate: "${p}" is not a 3×3 same-padded conv of this UNet`);
  if (new Set(paths).size !== paths.length) throw new OptionsError('redilate: a conv is listed twice');
  const dilation = g.input('conv_dilation', 'int64', [paths.length]);
  const patched: Array<Conv2d & { forward: Conv2d['forward'] }> = [];
  paths.forEach((p, k) => {
    const conv = convs.get(p)! as Conv2d & { forward: Conv2d['forward'] };
    // Scoped by the conv's own name so a graph dump shows which convs read conv_dilation.
    const name = p.slice(p.lastIndexOf('.') + 1);
    conv.forward = (gb, x) => gb.scope(name, () => redilatedConv(gb, conv, x, gb.op('Gather', [dilation, gb.constant('int64', [], [k], 'dilation_index')], { axis: 0 })));
    patched.push(conv);
  });
  return () => {
    for (const c of patched) delete (c as Partial<Pick<Conv2d, 'forward'>>).forward;
  };
}

/** Binds weights by state-dict key (WeightsError naming the key on a missing/misshapen/unexpected weight). */
export function bindUNetWeights(model: UNet2DConditionModel, weights: WeightLookup): void {
  bindWeights(model, weights);
}
