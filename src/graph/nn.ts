/**
 * Basic layers (torch.nn equivalents) as Modules whose parameter names are torch's (`weight`, `bias`).
 * GroupNorm is built from InstanceNormalization because onnxruntime's CPU provider has no kernel for
 * GroupNormalization or com.microsoft.GroupNorm.
 */
import { float, type GraphBuilder, type Value } from './builder.js';
import { Module, Parameter } from './module.js';
import { add, ints, matmul, mul, reshape, transpose } from './ops.js';

/** torch.nn.Linear: y = x Wᵀ + b. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  /**
   * A low-rank term added to the output (LoRA, src/loading/lora.ts): y += (x · downT) · upT, with downT [in, R]
   * and upT [R, out] already scaled by scale·alpha/rank. Non-enumerable: not a parameter of the state dict.
   */
  declare lowRank?: { readonly rank: number; readonly downT: Float32Array; readonly upT: Float32Array };
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    this.weight = new Parameter([outFeatures, inFeatures]);
    if (bias) this.bias = new Parameter([outFeatures]);
  }

  /** Sets (or clears) the low-rank term; see `lowRank`. */
  setLowRank(term: Linear['lowRank']): void {
    Object.defineProperty(this, 'lowRank', { value: term, enumerable: false, configurable: true, writable: true });
  }

  forward(g: GraphBuilder, x: Value): Value {
    // float32: the Transpose of the initializer is folded at load and MatMul prepacks it. Half weights are
    // cast at run time (Parameter.value), where a Transpose would run every forward too: FusedMatMul's
    // transB reads W as it is.
    const w = this.weight.value(g);
    const y =
      this.weight.bound?.dtype === 'float32' || !this.weight.bound
        ? matmul(g, x, transpose(g, w, [1, 0]))
        : g.op('FusedMatMul', [x, w], { transB: 1 }, 'com.microsoft');
    const out = this.bias ? add(g, y, this.bias.value(g)) : y;
    const lr = this.lowRank;
    if (!lr) return out;
    const down = g.constant('float32', [this.inFeatures, lr.rank], lr.downT, 'lora_down');
    const up = g.constant('float32', [lr.rank, this.outFeatures], lr.upT, 'lora_up');
    return add(g, out, matmul(g, matmul(g, x, down), up));
  }
}

/** torch.nn.Conv2d with square kernel. */
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias?: Parameter;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly options: { stride?: number; padding?: number; bias?: boolean } = {},
  ) {
    super();
    this.weight = new Parameter([outChannels, inChannels, kernelSize, kernelSize]);
    if (options.bias ?? true) this.bias = new Parameter([outChannels]);
  }

  forward(g: GraphBuilder, x: Value, dilation = 1): Value {
    const s = this.options.stride ?? 1;
    const p = (this.options.padding ?? 0) * dilation;
    return g.op('Conv', [x, this.weight.value(g), this.bias ? this.bias.value(g) : null], {
      kernel_shape: [this.kernelSize, this.kernelSize],
      strides: [s, s],
      pads: [p, p, p, p],
      dilations: [dilation, dilation],
    });
  }
}

/** torch.nn.GroupNorm over NCHW (or N, C, L) inputs. */
export class GroupNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  constructor(readonly numGroups: number, readonly numChannels: number, readonly eps = 1e-5) {
    super();
    this.weight = new Parameter([numChannels]);
    this.bias = new Parameter([numChannels]);
  }

  forward(g: GraphBuilder, x: Value, rank = 4): Value {
    const G = this.numGroups;
    const grouped = reshape(g, x, [0, G, -1]); // [N, G, C/G·H·W]
    const ones = g.constant('float32', [G], new Array(G).fill(1), 'gn_ones');
    const zeros = g.constant('float32', [G], new Array(G).fill(0), 'gn_zeros');
    const normed = g.op('InstanceNormalization', [grouped, ones, zeros], { epsilon: float(this.eps) });
    const back = reshape(g, normed, g.op('Shape', [x])); // [N, C, H, W]
    const affineShape = rank === 4 ? [this.numChannels, 1, 1] : [this.numChannels, 1];
    const w = reshape(g, this.weight.value(g), affineShape);
    const b = reshape(g, this.bias.value(g), affineShape);
    return add(g, mul(g, back, w), b);
  }
}

/** torch.nn.LayerNorm over the last dimension. */
export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = new Parameter([dim]);
    this.bias = new Parameter([dim]);
  }

  forward(g: GraphBuilder, x: Value): Value {
    return g.op('LayerNormalization', [x, this.weight.value(g), this.bias.value(g)], { axis: -1, epsilon: float(this.eps) });
  }
}

/** torch.nn.Embedding: rows of the weight gathered by integer ids. */
export class Embedding extends Module {
  readonly weight: Parameter;
  constructor(readonly numEmbeddings: number, readonly dim: number) {
    super();
    this.weight = new Parameter([numEmbeddings, dim]);
  }

  forward(g: GraphBuilder, ids: Value): Value {
    return g.op('Gather', [this.weight.value(g), ids], { axis: 0 });
  }
}

export { ints };
