/**
 * GraphBuilder: collects ONNX nodes, inputs, outputs and initializers in memory and serialises them to
 * ModelProto bytes. Values are named after the module scope that made them (`down_blocks.0.resnets.1/Conv_3`),
 * so a graph dump reads like the diffusers module tree. See onnxscript's graph builder for the idea.
 */
import { OnnxAttributeType, OnnxDataType, onnx } from './onnx-proto.js';

export type DType = keyof typeof OnnxDataType;

/** A named value (tensor) in the graph under construction. */
export class Value {
  constructor(readonly name: string) {}
}

/** An attribute value: numbers are ints unless wrapped by `float()`, arrays likewise. */
export type Attr = number | bigint | string | number[] | FloatAttr | FloatsAttr;
export class FloatAttr { constructor(readonly value: number) {} }
export class FloatsAttr { constructor(readonly value: number[]) {} }
/** Marks a number (or list) attribute as float, e.g. `{ epsilon: float(1e-5) }`. */
export function float(v: number): FloatAttr;
export function float(v: number[]): FloatsAttr;
export function float(v: number | number[]): FloatAttr | FloatsAttr {
  return Array.isArray(v) ? new FloatsAttr(v) : new FloatAttr(v);
}

/** Where an initializer's bytes live in an external file (relative to the session's weights folder). */
export interface ExternalLocation {
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

interface NodeRecord {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: object[];
}

type Dim = number | string;

function attrProto(name: string, v: Attr): object {
  if (v instanceof FloatAttr) return { name, type: OnnxAttributeType.FLOAT, f: v.value };
  if (v instanceof FloatsAttr) return { name, type: OnnxAttributeType.FLOATS, floats: v.value };
  if (typeof v === 'string') return { name, type: OnnxAttributeType.STRING, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) return { name, type: OnnxAttributeType.INTS, ints: v };
  return { name, type: OnnxAttributeType.INT, i: v };
}

function valueInfo(name: string, dtype: DType, dims: readonly Dim[] | undefined): object {
  const tensorType: Record<string, unknown> = { elemType: OnnxDataType[dtype] };
  if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType } };
}

/** Builds one ONNX graph. */
export class GraphBuilder {
  private readonly nodes: NodeRecord[] = [];
  private readonly inputs: object[] = [];
  private readonly outputs: object[] = [];
  private readonly initializers: object[] = [];
  private readonly initializerNames = new Set<string>();
  private readonly used = new Set<string>();
  private readonly scopes: string[] = [];
  private counter = 0;
  /** Extra opset domains used (e.g. com.microsoft). */
  private readonly domains = new Map<string, number>();

  constructor(readonly name = 'graph', readonly opset = 17) {}

  /** Runs fn with `name` appended to the naming scope (module path). */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  private fresh(hint: string): string {
    const prefix = this.scopes.filter(Boolean).join('.');
    let name = prefix ? `${prefix}/${hint}_${this.counter++}` : `${hint}_${this.counter++}`;
    while (this.used.has(name)) name = `${name}_`;
    this.used.add(name);
    return name;
  }

  /** Declares a graph input. */
  input(name: string, dtype: DType, dims: readonly Dim[]): Value {
    if (this.used.has(name)) throw new Error(`GraphBuilder: duplicate value name ${name}`);
    this.used.add(name);
    this.inputs.push(valueInfo(name, dtype, dims));
    return new Value(name);
  }

  /** Declares `v` as a graph output called `name` (adds an Identity when the names differ). */
  output(v: Value, name: string, dtype: DType = 'float32', dims?: readonly Dim[]): void {
    let src = v;
    if (v.name !== name) {
      if (this.used.has(name)) throw new Error(`GraphBuilder: duplicate value name ${name}`);
      this.used.add(name);
      this.nodes.push({ input: [v.name], output: [name], name: `${name}/Identity`, opType: 'Identity', domain: '', attribute: [] });
      src = new Value(name);
    }
    this.outputs.push(valueInfo(src.name, dtype, dims));
  }

  /** Adds a node with `nOutputs` outputs; `null` inputs are ONNX's empty optional inputs. */
  node(opType: string, inputs: ReadonlyArray<Value | null | undefined>, attrs: Record<string, Attr | undefined> = {}, nOutputs = 1, domain = ''): Value[] {
    if (domain && !this.domains.has(domain)) this.domains.set(domain, 1);
    const outputs = Array.from({ length: nOutputs }, () => this.fresh(opType));
    const attribute = Object.entries(attrs)
      .filter((e): e is [string, Attr] => e[1] !== undefined)
      .map(([k, v]) => attrProto(k, v));
    this.nodes.push({
      input: inputs.map((v) => (v ? v.name : '')),
      output: outputs,
      name: outputs[0]!,
      opType,
      domain,
      attribute,
    });
    return outputs.map((n) => new Value(n));
  }

  /** Single-output shorthand for node(). */
  op(opType: string, inputs: ReadonlyArray<Value | null | undefined>, attrs: Record<string, Attr | undefined> = {}, domain = ''): Value {
    return this.node(opType, inputs, attrs, 1, domain)[0]!;
  }

  /** An initializer whose data is stored in the model bytes. */
  constant(dtype: 'float32' | 'int64' | 'int32' | 'float16', dims: readonly number[], data: ArrayLike<number> | BigInt64Array, hint = 'const'): Value {
    const name = this.fresh(hint);
    let raw: Uint8Array;
    if (dtype === 'float32') raw = new Uint8Array(Float32Array.from(data as ArrayLike<number>).buffer);
    else if (dtype === 'int32') raw = new Uint8Array(Int32Array.from(data as ArrayLike<number>).buffer);
    else if (dtype === 'float16') raw = new Uint8Array(Uint16Array.from(data as ArrayLike<number>).buffer);
    else raw = new Uint8Array((data instanceof BigInt64Array ? data : BigInt64Array.from(Array.from(data as ArrayLike<number>, (x) => BigInt(x)))).buffer);
    this.initializers.push({ name, dims: [...dims], dataType: OnnxDataType[dtype], rawData: raw });
    this.initializerNames.add(name);
    return new Value(name);
  }

  /**
   * An initializer whose bytes are read by onnxruntime from a file at session creation. `overridable`
   * also lists it as a graph input (ONNX IR ≥ 4: an input with a default), which onnxruntime never treats
   * as a constant, so nodes reading it are computed at run time instead of being folded at load.
   */
  external(name: string, dtype: DType, dims: readonly number[], where: ExternalLocation, overridable = false): Value {
    if (this.initializerNames.has(name)) return new Value(name);
    if (this.used.has(name)) throw new Error(`GraphBuilder: initializer name ${name} clashes with a value`);
    this.used.add(name);
    this.initializerNames.add(name);
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: OnnxDataType[dtype],
      dataLocation: 1,
      externalData: [
        { key: 'location', value: where.location },
        { key: 'offset', value: String(where.offset) },
        { key: 'length', value: String(where.length) },
      ],
    });
    if (overridable) this.inputs.push(valueInfo(name, dtype, dims));
    return new Value(name);
  }

  /** Number of nodes so far (for structure tests). */
  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Op types of all nodes, in order (for structure tests). */
  opTypes(): string[] {
    return this.nodes.map((n) => n.opType);
  }

  /** Serialises the graph to ONNX ModelProto bytes. */
  toModelProto(producer = 'accdiffusion'): Uint8Array {
    const opsetImport = [{ domain: '', version: this.opset }, ...[...this.domains].map(([domain, version]) => ({ domain, version }))];
    const model = {
      irVersion: 8,
      producerName: producer,
      opsetImport,
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
    const err = onnx.ModelProto.verify(model);
    if (err) throw new Error(`GraphBuilder: invalid model: ${err}`);
    return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
  }
}
