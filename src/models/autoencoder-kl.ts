/**
 * AutoencoderKL (the Stable Diffusion VAE) as two ONNX graphs built from its config: `decode`
 * (latent_sample → sample, raw `vae.decode(z).sample`; the pipeline divides by scaling_factor itself) and
 * `encode` (sample → mean, logvar, std of the DiagonalGaussianDistribution).
 *
 * Ports diffusers v0.27 models/autoencoders/autoencoder_kl.py (AutoencoderKL) and
 * models/autoencoders/vae.py (Encoder, Decoder, DiagonalGaussianDistribution).
 */
import { GraphBuilder, type Value } from '../graph/builder.js';
import { Module, ModuleList, bindWeights, type WeightLookup, type WeightRef } from '../graph/module.js';
import { Conv2d, GroupNorm } from '../graph/nn.js';
import { mul, scalar, silu, slice } from '../graph/ops.js';
import type { AttentionContext } from './attention.js';
import { DownEncoderBlock2D, UNetMidBlock2D, UpDecoderBlock2D, type VaeBlockOptions } from './vae-blocks.js';
import type { AutoencoderKLConfig } from './vae-config.js';

/** diffusers builds every VAE norm with eps 1e-6 (resnet_eps and conv_norm_out). */
const VAE_EPS = 1e-6;

function blockOptions(config: AutoencoderKLConfig): VaeBlockOptions {
  return { groups: config.norm_num_groups, eps: VAE_EPS, act: config.act_fn };
}

/** vae.py Encoder with double_z=True: image → 2·latent_channels moments at 1/scale resolution. */
export class Encoder extends Module {
  readonly conv_in: Conv2d;
  readonly down_blocks: ModuleList<DownEncoderBlock2D>;
  readonly mid_block: UNetMidBlock2D;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  constructor(config: AutoencoderKLConfig) {
    super();
    const boc = config.block_out_channels;
    const opts = blockOptions(config);
    this.conv_in = new Conv2d(config.in_channels, boc[0]!, 3, { padding: 1 });
    this.down_blocks = new ModuleList(
      boc.map((out, i) => new DownEncoderBlock2D(i === 0 ? boc[0]! : boc[i - 1]!, out, config.layers_per_block, i < boc.length - 1, opts)),
    );
    const last = boc[boc.length - 1]!;
    this.mid_block = new UNetMidBlock2D(last, config.mid_block_add_attention, opts);
    this.conv_norm_out = new GroupNorm(config.norm_num_groups, last, VAE_EPS);
    this.conv_out = new Conv2d(last, 2 * config.latent_channels, 3, { padding: 1 });
  }

  forward(ctx: AttentionContext, x: Value): Value {
    const g = ctx.g;
    // 1. conv_in
    let h = g.scope('conv_in', () => this.conv_in.forward(g, x)); // [B, boc[0], H, W]
    // 2. down
    this.down_blocks.items.forEach((b, i) => {
      h = g.scope(`down_blocks.${i}`, () => b.forward(g, h));
    }); // [B, boc[-1], H/f, W/f]
    // 3. mid
    h = g.scope('mid_block', () => this.mid_block.forward(ctx, h));
    // 4. post-process (conv_act is always SiLU in diffusers, whatever act_fn says)
    return g.scope('conv_out', () => this.conv_out.forward(g, silu(g, this.conv_norm_out.forward(g, h)))); // [B, 2·latent, H/f, W/f]
  }
}

/** vae.py Decoder (norm_type "group"): latent → image at ×scale resolution. */
export class Decoder extends Module {
  readonly conv_in: Conv2d;
  readonly mid_block: UNetMidBlock2D;
  readonly up_blocks: ModuleList<UpDecoderBlock2D>;
  readonly conv_norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  constructor(config: AutoencoderKLConfig) {
    super();
    const reversed = [...config.block_out_channels].reverse();
    const opts = blockOptions(config);
    this.conv_in = new Conv2d(config.latent_channels, reversed[0]!, 3, { padding: 1 });
    this.mid_block = new UNetMidBlock2D(reversed[0]!, config.mid_block_add_attention, opts);
    // Decoder blocks have one resnet more than encoder blocks.
    this.up_blocks = new ModuleList(
      reversed.map((out, i) => new UpDecoderBlock2D(i === 0 ? reversed[0]! : reversed[i - 1]!, out, config.layers_per_block + 1, i < reversed.length - 1, opts)),
    );
    const first = config.block_out_channels[0]!;
    this.conv_norm_out = new GroupNorm(config.norm_num_groups, first, VAE_EPS);
    this.conv_out = new Conv2d(first, config.out_channels, 3, { padding: 1 });
  }

  forward(ctx: AttentionContext, z: Value): Value {
    const g = ctx.g;
    // 1. conv_in
    let h = g.scope('conv_in', () => this.conv_in.forward(g, z)); // [B, boc[-1], h, w]
    // 2. mid
    h = g.scope('mid_block', () => this.mid_block.forward(ctx, h));
    // 3. up
    this.up_blocks.items.forEach((b, i) => {
      h = g.scope(`up_blocks.${i}`, () => b.forward(g, h));
    }); // [B, boc[0], f·h, f·w]
    // 4. post-process
    return g.scope('conv_out', () => this.conv_out.forward(g, silu(g, this.conv_norm_out.forward(g, h)))); // [B, out, f·h, f·w]
  }
}

/** The moments of the diagonal Gaussian posterior, as graph values. */
export interface LatentDist {
  readonly mean: Value;
  readonly logvar: Value;
  readonly std: Value;
}

/** autoencoder_kl.py AutoencoderKL. */
export class AutoencoderKL extends Module {
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly quant_conv?: Conv2d;
  readonly post_quant_conv?: Conv2d;
  constructor(readonly config: AutoencoderKLConfig) {
    super();
    this.encoder = new Encoder(config);
    this.decoder = new Decoder(config);
    const lc = config.latent_channels;
    if (config.use_quant_conv) this.quant_conv = new Conv2d(2 * lc, 2 * lc, 1);
    if (config.use_post_quant_conv) this.post_quant_conv = new Conv2d(lc, lc, 1);
  }

  /** vae.encode(x).latent_dist: mean, logvar clamped to [-30, 20], std = exp(logvar / 2). */
  encode(ctx: AttentionContext, x: Value): LatentDist {
    const g = ctx.g;
    // 1. encoder + quant_conv
    let moments = g.scope('encoder', () => this.encoder.forward(ctx, x)); // [B, 2·latent, h, w]
    if (this.quant_conv) moments = g.scope('quant_conv', () => this.quant_conv!.forward(g, moments));
    // 2. DiagonalGaussianDistribution
    const lc = this.config.latent_channels;
    const mean = slice(g, moments, [0], [lc], [1]); // [B, latent, h, w]
    const rawLogvar = slice(g, moments, [lc], [2 * lc], [1]);
    const logvar = g.op('Clip', [rawLogvar, scalar(g, -30), scalar(g, 20)]);
    const std = g.op('Exp', [mul(g, logvar, scalar(g, 0.5))]);
    return { mean, logvar, std };
  }

  /** vae.decode(z).sample (no scaling_factor division). */
  decode(ctx: AttentionContext, z: Value): Value {
    const g = ctx.g;
    const h = this.post_quant_conv ? g.scope('post_quant_conv', () => this.post_quant_conv!.forward(g, z)) : z;
    return g.scope('decoder', () => this.decoder.forward(ctx, h)); // [B, out, f·h, f·w]
  }
}

export interface VaeGraphOptions {
  /**
   * Compute the mid-block attention with com.microsoft.MultiHeadAttention (default true): it never holds the
   * [B, HW, HW] score matrix, which at 1024² pixels (128² latent) would be 1 GiB per batch item.
   */
  readonly fusedAttention?: boolean;
}

function attentionContext(g: GraphBuilder, options: VaeGraphOptions): AttentionContext {
  return { g, fused: options.fusedAttention ?? true, capture: () => false, captured: new Map() };
}

/** The decode graph: input `latent_sample` [batch, latent_channels, height, width] → output `sample`. */
export function buildVaeDecodeGraph(vae: AutoencoderKL, options: VaeGraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder('vae_decode');
  const z = g.input('latent_sample', 'float32', ['batch', vae.config.latent_channels, 'height', 'width']);
  g.output(vae.decode(attentionContext(g, options), z), 'sample', 'float32', ['batch', vae.config.out_channels, 'out_height', 'out_width']);
  return g;
}

/** The encode graph: input `sample` [batch, in_channels, height, width] → outputs `mean`, `logvar`, `std`. */
export function buildVaeEncodeGraph(vae: AutoencoderKL, options: VaeGraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder('vae_encode');
  const x = g.input('sample', 'float32', ['batch', vae.config.in_channels, 'height', 'width']);
  const dist = vae.encode(attentionContext(g, options), x);
  const dims = ['batch', vae.config.latent_channels, 'latent_height', 'latent_width'];
  g.output(dist.mean, 'mean', 'float32', dims);
  g.output(dist.logvar, 'logvar', 'float32', dims);
  g.output(dist.std, 'std', 'float32', dims);
  return g;
}

/** Names of the pre-0.14 diffusers AttentionBlock weights and what diffusers renames them to on load. */
const LEGACY_ATTENTION: Record<string, string> = { query: 'to_q', key: 'to_k', value: 'to_v', proj_attn: 'to_out.0' };
const LEGACY_KEY = /^(.*\.attentions\.\d+\.)(query|key|value|proj_attn)\.(weight|bias)$/;

/**
 * Presents old VAE checkpoints' attention weights (query/key/value/proj_attn) under the current names, as
 * diffusers' `_convert_deprecated_attention_blocks` does; current files pass through unchanged.
 */
export function withLegacyAttentionNames(weights: WeightLookup): WeightLookup {
  const renamed = new Map<string, WeightRef>();
  for (const key of weights.keys()) {
    const m = LEGACY_KEY.exec(key);
    if (m) renamed.set(`${m[1]}${LEGACY_ATTENTION[m[2]!]}.${m[3]}`, weights.get(key)!);
  }
  if (renamed.size === 0) return weights;
  return {
    source: weights.source,
    get: (key) => weights.get(key) ?? renamed.get(key),
    *keys() {
      for (const key of weights.keys()) {
        const m = LEGACY_KEY.exec(key);
        yield m ? `${m[1]}${LEGACY_ATTENTION[m[2]!]}.${m[3]}` : key;
      }
    },
  };
}

/** Binds a VAE folder's weights (either attention naming); WeightsError on any missing/extra/misshaped key. */
export function bindVaeWeights(vae: AutoencoderKL, weights: WeightLookup): void {
  bindWeights(vae, withLegacyAttentionNames(weights));
}
