/**
 * The activation functions a diffusers config can name (`act_fn`, `time_embedding_act_fn`,
 * `timestep_post_act`), as in diffusers v0.27 `models/activations.py` `get_activation`.
 */
import type { GraphBuilder, Value } from '../graph/builder.js';
import { gelu, mul, silu } from '../graph/ops.js';

export const ACTIVATIONS = ['silu', 'swish', 'mish', 'gelu', 'relu'] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** Applies the named activation (torch's exact erf GELU for "gelu"). */
export function activation(g: GraphBuilder, name: ActivationName, x: Value): Value {
  switch (name) {
    case 'silu':
    case 'swish':
      return silu(g, x);
    case 'gelu':
      return gelu(g, x);
    case 'relu':
      return g.op('Relu', [x]);
    case 'mish':
      // Opset 17 has no Mish: x · tanh(softplus(x)).
      return mul(g, x, g.op('Tanh', [g.op('Softplus', [x])]));
  }
}
