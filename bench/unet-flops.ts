/**
 * FLOPs of one UNet2DConditionModel forward, counted from the model's parameter shapes (the diffusers
 * state-dict names tell each layer's resolution), so that any config (SD1.5, SDXL) gets a figure without a
 * PyTorch profile. Counted as torch.utils.flop_counter counts: 2 FLOPs per multiply-add in every
 * convolution, linear layer and the two attention products (QKᵀ and PV); norms, activations, softmax and
 * biases are left out (a few percent at most).
 *
 * Layer resolution from the name (diffusers unet_2d_condition.py, get_down_block / get_up_block):
 * down_blocks.i at latent/2^i (its downsampler writes latent/2^(i+1)), mid_block at latent/2^(n-1),
 * up_blocks.j at latent/2^(n-1-j) (its upsampler's conv runs after the ×2 nearest upsampling).
 * attn2.to_k / attn2.to_v see the text tokens; time and added-condition embeddings see one token.
 */

/** What the counter needs of a model: its parameter names and shapes (UNet2DConditionModel has this). */
export interface NamedShapes {
  namedParameters(): Iterable<readonly [string, { readonly shape: readonly number[] }]>;
}

export interface UNetFlopInput {
  /** Latent height and width in latent cells (64 for SD1.5 at 512², 128 for SDXL at 1024²). */
  readonly height: number;
  readonly width: number;
  /** Batch rows (2 = one classifier-free-guidance pair). */
  readonly batch: number;
  /** Text tokens of encoder_hidden_states (77). */
  readonly contextLength: number;
  /** Number of down (= up) blocks: block_out_channels.length. */
  readonly levels: number;
}

/** Tokens (H·W cells) a layer named `key` runs over, or undefined when the name gives no resolution. */
function layerCells(key: string, input: UNetFlopInput): number | undefined {
  const cells = (down: number): number => Math.ceil(input.height / 2 ** down) * Math.ceil(input.width / 2 ** down);
  if (key.startsWith('conv_in.') || key.startsWith('conv_out.')) return cells(0);
  let m = /^down_blocks\.(\d+)\.(downsamplers)?/.exec(key);
  if (m) return cells(Number(m[1]) + (m[2] ? 1 : 0));
  if (key.startsWith('mid_block.')) return cells(input.levels - 1);
  m = /^up_blocks\.(\d+)\.(upsamplers)?/.exec(key);
  if (m) return cells(input.levels - 1 - Number(m[1]) - (m[2] ? 1 : 0));
  return undefined;
}

/** GFLOP (10^9 floating-point operations) of one forward at `input`'s size. */
export function unetGflop(model: NamedShapes, input: UNetFlopInput): number {
  let flops = 0;
  for (const [key, p] of model.namedParameters()) {
    if (!key.endsWith('.weight') || p.shape.length < 2) continue; // biases and norm scales
    const macsPerToken = p.shape.reduce((a, b) => a * b, 1) / 1; // Cout·Cin·k·k or out·in
    const cells = layerCells(key, input);
    let tokens: number;
    if (cells === undefined || /time_emb_proj|time_embedding|add_embedding/.test(key)) tokens = 1;
    else if (/attn2\.to_[kv]\./.test(key)) tokens = input.contextLength;
    else tokens = cells;
    flops += 2 * macsPerToken * tokens;
    // The attention products of this block, counted once per attention at its to_q.
    const q = /\.(attn[12])\.to_q\.weight$/.exec(key);
    if (q && cells !== undefined) {
      const channels = p.shape[0]!;
      const keys = q[1] === 'attn1' ? cells : input.contextLength;
      flops += 2 * 2 * cells * keys * channels; // QKᵀ and PV
    }
  }
  return (flops * input.batch) / 1e9;
}
