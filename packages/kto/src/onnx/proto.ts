/**
 * Minimal protobuf encoder for the subset of the ONNX `ModelProto` schema (onnx/onnx.proto,
 * proto2) that the exporter emits: model → graph → nodes/attributes, initializers (raw_data),
 * value infos with static or symbolic dims, opset imports. Field numbers are those of onnx.proto.
 * Written here so the export needs no protobuf dependency; only encoding, never decoding.
 */

/** TensorProto.DataType values used by the exporter. */
export const ONNX_DTYPE = { float: 1, int32: 6, int64: 7 } as const;
export type OnnxDtype = keyof typeof ONNX_DTYPE;

/** A node attribute; the kind picks the AttributeProto field. */
export type OnnxAttribute =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "ints"; value: readonly number[] }
  | { kind: "floats"; value: readonly number[] }
  | { kind: "string"; value: string };

export type OnnxNode = {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Readonly<Record<string, OnnxAttribute>>;
};

/** An initializer; `data` is the little-endian payload written as raw_data. */
export type OnnxInitializer = {
  name: string;
  dtype: OnnxDtype;
  dims: readonly number[];
  data: Float32Array | Int32Array | BigInt64Array;
};

/** A graph input/output: dims are numbers (static) or strings (symbolic, e.g. "N"). */
export type OnnxValueInfo = { name: string; dtype: OnnxDtype; dims: readonly (number | string)[] };

export type OnnxGraph = {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
};

export type OnnxModel = {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  graph: OnnxGraph;
  /** Stored as ModelProto.metadata_props (string key/value pairs). */
  metadata?: Readonly<Record<string, string>>;
};

const WIRE_VARINT = 0;
const WIRE_I32 = 5;
const WIRE_LEN = 2;
const utf8 = new TextEncoder();

/** Append-only byte buffer with the four protobuf primitives the schema needs. */
class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** Varint of an int64 value; negatives are 10-byte two's complement as protobuf requires. */
  varint(value: number | bigint): void {
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
      let v = value;
      while (v >= 0x80) {
        this.byte((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.byte(v);
      return;
    }
    if (typeof value === "number" && !Number.isSafeInteger(value))
      throw new Error(`protobuf varint: ${value} is not a safe integer`);
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, WIRE_I32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  string(field: number, value: string): void {
    this.bytes(field, utf8.encode(value));
  }

  message(field: number, encode: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    encode(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** View of a typed array's bytes; every platform Node supports is little-endian, as raw_data requires. */
function rawBytes(data: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function encodeAttribute(w: ProtoWriter, name: string, a: OnnxAttribute): void {
  w.string(1, name);
  switch (a.kind) {
    case "float":
      w.float(2, a.value);
      w.int(20, 1);
      break;
    case "int":
      w.int(3, a.value);
      w.int(20, 2);
      break;
    case "string":
      w.string(4, a.value);
      w.int(20, 3);
      break;
    case "floats":
      for (const v of a.value) w.float(7, v);
      w.int(20, 6);
      break;
    case "ints":
      for (const v of a.value) w.int(8, v);
      w.int(20, 7);
      break;
  }
}

function encodeTensor(w: ProtoWriter, t: OnnxInitializer): void {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length)
    throw new Error(
      `initializer ${t.name}: dims [${t.dims.join(",")}] hold ${count} values, data has ${t.data.length}`,
    );
  for (const d of t.dims) w.int(1, d);
  w.int(2, ONNX_DTYPE[t.dtype]);
  w.string(8, t.name);
  w.bytes(9, rawBytes(t.data));
}

function encodeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  // ValueInfoProto.type (2) → TypeProto.tensor_type (1) → {elem_type (1), shape (2) → dim (1)*}
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ONNX_DTYPE[v.dtype]);
      tensor.message(2, (shape) => {
        for (const d of v.dims)
          shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function encodeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [name, a] of Object.entries(n.attributes ?? {}))
    w.message(5, (aw) => encodeAttribute(aw, name, a));
}

/** OnnxModel → serialized ModelProto bytes (what `InferenceSession.create(bytes)` accepts). */
export function encodeModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, model.irVersion);
  w.string(2, model.producerName);
  w.string(3, model.producerVersion);
  w.message(7, (g) => {
    for (const n of model.graph.nodes) g.message(1, (nw) => encodeNode(nw, n));
    g.string(2, model.graph.name);
    for (const t of model.graph.initializers) g.message(5, (tw) => encodeTensor(tw, t));
    for (const v of model.graph.inputs) g.message(11, (vw) => encodeValueInfo(vw, v));
    for (const v of model.graph.outputs) g.message(12, (vw) => encodeValueInfo(vw, v));
  });
  w.message(8, (op) => {
    op.string(1, "");
    op.int(2, model.opsetVersion);
  });
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.message(14, (kv) => {
      kv.string(1, key);
      kv.string(2, value);
    });
  }
  return w.finish();
}
