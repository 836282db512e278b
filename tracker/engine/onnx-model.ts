/**
 * An ONNX graph builder and ModelProto encoder (opset 17, IR version 8) on top of tracker/engine/protobuf.ts. Only
 * what the SiamFC exporter needs: float32/int64 initializers (raw_data), nodes with int/ints/float attributes, and
 * float32 graph inputs/outputs whose dims are fixed numbers or named (dynamic) dims. Browser-safe.
 *
 * Field numbers are those of onnx/onnx.proto: ModelProto{ir_version 1, producer_name 2, producer_version 3, graph 7,
 * opset_import 8}, OperatorSetIdProto{domain 1, version 2}, GraphProto{node 1, name 2, initializer 5, input 11,
 * output 12}, NodeProto{input 1, output 2, name 3, op_type 4, attribute 5}, AttributeProto{name 1, f 2, i 3, s 4,
 * ints 8, type 20}, TensorProto{dims 1, data_type 2, name 8, raw_data 9}, ValueInfoProto{name 1, type 2},
 * TypeProto{tensor_type 1}, TypeProto.Tensor{elem_type 1, shape 2}, TensorShapeProto{dim 1},
 * Dimension{dim_value 1, dim_param 2}.
 */
import { ProtoWriter } from './protobuf.js';

/** ONNX TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

/** ONNX AttributeProto.AttributeType values used here. */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

/** A node attribute: an int, a float (`{ f }`) or a list of ints. */
export type Attr = number | { f: number } | readonly number[];

interface Node { op: string; inputs: string[]; outputs: string[]; attrs: Record<string, Attr>; name: string }
interface Initializer { name: string; dims: number[]; type: number; raw: Uint8Array }
interface ValueInfo { name: string; dims: (number | string)[] }

/** An ONNX graph under construction. Names are generated unique; `encode()` serialises the ModelProto. */
export class OnnxGraph {
  private readonly nodes: Node[] = [];
  private readonly inits: Initializer[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh value name with `prefix`. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** A float32 graph input; dims are numbers or names of dynamic dims. */
  input(name: string, dims: (number | string)[]): string {
    this.inputs.push({ name, dims });
    return name;
  }

  /** Mark `value` as a graph output of the given dims. */
  output(name: string, dims: (number | string)[]): void {
    this.outputs.push({ name, dims });
  }

  /** A float32 initializer of shape `dims` (row-major data). Returns its name. */
  floats(prefix: string, dims: number[], data: Float32Array): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new Error(`onnx graph "${this.name}": initializer ${prefix} has ${data.length} values for dims [${dims}]`);
    const raw = new Uint8Array(n * 4);
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < n; i++) dv.setFloat32(i * 4, data[i], true);
    const name = this.fresh(prefix);
    this.inits.push({ name, dims, type: ONNX_FLOAT, raw });
    return name;
  }

  /** A 1-D int64 initializer (shapes, axes, slice bounds). Returns its name. */
  int64s(prefix: string, values: readonly number[]): string {
    const raw = new Uint8Array(values.length * 8);
    const dv = new DataView(raw.buffer);
    values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
    const name = this.fresh(prefix);
    this.inits.push({ name, dims: [values.length], type: ONNX_INT64, raw });
    return name;
  }

  /** Append a node; returns its (single) output name, or `output` when given. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? this.fresh(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], attrs, name: this.fresh(`${op}_node`) });
    return out;
  }

  /** Serialise as an ONNX ModelProto (opset `opset`, IR version 8). */
  encode(opset = 17, producer = 'rot-track'): Uint8Array {
    const g = new ProtoWriter();
    for (const n of this.nodes) g.message(1, encodeNode(n));
    g.string(2, this.name);
    for (const t of this.inits) g.message(5, encodeTensor(t));
    for (const v of this.inputs) g.message(11, encodeValueInfo(v));
    for (const v of this.outputs) g.message(12, encodeValueInfo(v));
    const m = new ProtoWriter();
    m.int(1, 8); // IR version 8 (opset ≤ 17)
    m.string(2, producer);
    m.string(3, '1');
    m.message(7, g);
    m.message(8, new ProtoWriter().string(1, '').int(2, opset));
    return m.finish().slice();
  }
}

function encodeNode(n: Node): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const [name, v] of Object.entries(n.attrs)) {
    const a = new ProtoWriter().string(1, name);
    if (typeof v === 'number') a.int(3, v).int(20, ATTR_INT);
    else if (Array.isArray(v)) a.packedInts(8, v as number[]).int(20, ATTR_INTS);
    else a.float(2, (v as { f: number }).f).int(20, ATTR_FLOAT);
    w.message(5, a);
  }
  return w;
}

function encodeTensor(t: Initializer): ProtoWriter {
  const w = new ProtoWriter();
  if (t.dims.length) w.packedInts(1, t.dims);
  w.int(2, t.type);
  w.string(8, t.name);
  w.bytes(9, t.raw);
  return w;
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, ONNX_FLOAT).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}
