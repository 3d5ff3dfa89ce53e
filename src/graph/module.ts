/**
 * Module and Parameter: a PyTorch-like module tree whose property names are the diffusers state-dict
 * segments, so that binding weights is a name lookup (onnxscript/nn/_module.py, tinygrad's SD port).
 * A module discovers its children and parameters from its own enumerable properties, in declaration order;
 * ModuleList children are named "0", "1", ... like torch.nn.ModuleList.
 */
import { WeightsError } from '../errors.js';
import type { DType, ExternalLocation, GraphBuilder, Value } from './builder.js';

/** Where one parameter's data lives: a tensor in a safetensors file. */
export interface WeightRef {
  /** The state-dict key (for messages). */
  readonly key: string;
  readonly dtype: 'float32' | 'float16' | 'bfloat16';
  readonly shape: readonly number[];
  readonly where: ExternalLocation;
  /** The file the tensor is in (for messages). */
  readonly file: string;
  /** The bytes hold the transpose of this 2-D `shape` (OpenCLIP's text_projection); value() transposes it back. */
  readonly transposed?: boolean;
}

/** Anything that can look weights up by state-dict key. */
export interface WeightLookup {
  get(key: string): WeightRef | undefined;
  keys(): Iterable<string>;
  /** Description for messages, e.g. the component folder. */
  readonly source: string;
}

/** A learnable tensor declared by a module with the shape the config implies. */
export class Parameter {
  private ref: WeightRef | undefined;
  private readonly values = new WeakMap<GraphBuilder, Value>();
  constructor(readonly shape: readonly number[]) {}

  /** Attaches the weight found for this parameter. */
  bind(ref: WeightRef): void {
    this.ref = ref;
  }

  get bound(): WeightRef | undefined {
    return this.ref;
  }

  /**
   * The parameter as a float32 value in graph g: an external initializer, cast from fp16/bf16 inside the
   * graph. CPU Conv/Gemm kernels are float-only, but folding that Cast at load would materialise a float32
   * copy of every half weight next to the mapped half data (1.3–1.9× one float32 copy for a UNet). Half
   * weights are therefore overridable initializers: onnxruntime keeps them mapped as they are and runs the
   * Cast right before each layer, so only one layer's float32 weight exists at a time.
   */
  value(g: GraphBuilder): Value {
    const cached = this.values.get(g);
    if (cached) return cached;
    const ref = this.ref;
    if (!ref) throw new Error('Parameter.value: parameter is not bound to a weight (call bindWeights first)');
    const half = ref.dtype !== 'float32';
    const stored = ref.transposed ? [...ref.shape].reverse() : ref.shape;
    const raw = g.external(ref.key, ref.dtype as DType, stored, ref.where, half);
    const cast = half ? g.op('Cast', [raw], { to: 1 }) : raw;
    const v = ref.transposed ? g.op('Transpose', [cast], { perm: [1, 0] }) : cast;
    this.values.set(g, v);
    return v;
  }
}

/** Base of every model part. Subclasses assign children (Module) and parameters (Parameter) as properties. */
export abstract class Module {
  /** Yields [dotted state-dict key, parameter] for every parameter below this module. */
  *namedParameters(prefix = ''): Generator<[string, Parameter]> {
    for (const [name, v] of Object.entries(this)) {
      const key = prefix ? `${prefix}.${name}` : name;
      if (v instanceof Parameter) yield [key, v];
      else if (v instanceof Module) yield* v.namedParameters(key);
    }
  }

  /** Number of scalar weights below this module. */
  parameterCount(): number {
    let n = 0;
    for (const [, p] of this.namedParameters()) n += p.shape.reduce((a, b) => a * b, 1);
    return n;
  }
}

/** An indexed list of modules, named "0", "1", ... in the state dict. */
export class ModuleList<T extends Module> extends Module {
  declare readonly length: number;
  constructor(items: T[]) {
    super();
    items.forEach((m, i) => {
      (this as unknown as Record<string, T>)[String(i)] = m;
    });
    Object.defineProperty(this, 'length', { value: items.length, enumerable: false });
  }

  at(i: number): T {
    const m = (this as unknown as Record<string, T>)[String(i)];
    if (!m) throw new RangeError(`ModuleList: no item ${i} of ${this.length}`);
    return m;
  }

  get items(): T[] {
    return Array.from({ length: this.length }, (_, i) => this.at(i));
  }
}

export interface BindOptions {
  /** Prefix in the weights' key space, e.g. "text_model" is part of the module tree instead; usually "". */
  readonly prefix?: string;
  /** Keys present in the file that the module does not use and that are fine to ignore. */
  readonly ignoreExtra?: (key: string) => boolean;
}

/**
 * Binds every parameter of `root` to the weight with the same key. A missing key, a shape that disagrees
 * with the config, or a weight the model does not declare is a WeightsError naming the key and the source.
 */
export function bindWeights(root: Module, weights: WeightLookup, options: BindOptions = {}): void {
  const prefix = options.prefix ?? '';
  const declared = new Set<string>();
  for (const [name, p] of root.namedParameters()) {
    const key = prefix ? `${prefix}.${name}` : name;
    declared.add(key);
    const ref = weights.get(key);
    if (!ref) throw new WeightsError(`${weights.source}: missing weight "${key}" (shape [${p.shape}]) that the config implies`);
    const same = ref.shape.length === p.shape.length && ref.shape.every((d, i) => d === p.shape[i]);
    if (!same) {
      throw new WeightsError(`${ref.file}: weight "${key}" has shape [${ref.shape}] but the config implies [${p.shape}]`);
    }
    p.bind(ref);
  }
  for (const key of weights.keys()) {
    if (!declared.has(key) && !(options.ignoreExtra?.(key) ?? false)) {
      throw new WeightsError(`${weights.source}: weight "${key}" is not part of the model the config describes (wrong config or wrong file?)`);
    }
  }
}
