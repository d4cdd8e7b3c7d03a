/**
 * Test fixture: a tiny ONNX graph that obeys the serving contract with an analytic ε, so sampler
 * tests can compute the expected result in plain JS:
 *   eps[n,h,w,c] = a·x[n,h,w,c] + b·t[n] + Σ_l table[tokens[n,l]] + channelBias[c]
 * table[0] = 0, so the empty prompt contributes nothing. Serialized with a minimal protobuf
 * writer of its own (serving cannot import the exporter in packages/kto; tests/ checks the real one).
 */

export type ContractModelSpec = {
  imageSize: number;
  contextLength: number;
  vocabSize: number;
  a: number;
  b: number;
  /** [vocabSize], table[0] must be 0. */
  table: readonly number[];
  /** [3] */
  channelBias: readonly [number, number, number];
  /** Rename an input to break the contract on purpose. */
  tokensInputName?: string;
};

/** Reference ε in float64 (what the graph computes, up to float32 rounding). */
export function contractEps(
  spec: ContractModelSpec,
  tokens: ArrayLike<bigint>,
  x: ArrayLike<number>,
  t: ArrayLike<number>,
  n: number,
): Float64Array {
  const pix = spec.imageSize * spec.imageSize * 3;
  const out = new Float64Array(n * pix);
  for (let r = 0; r < n; r++) {
    let tok = 0;
    for (let l = 0; l < spec.contextLength; l++)
      tok += Math.fround(spec.table[Number(tokens[r * spec.contextLength + l] ?? 0n)] ?? 0);
    for (let i = 0; i < pix; i++) {
      out[r * pix + i] =
        spec.a * (x[r * pix + i] ?? 0) + spec.b * (t[r] ?? 0) + tok + (spec.channelBias[i % 3] ?? 0);
    }
  }
  return out;
}

class W {
  parts: number[] = [];
  varint(v: number): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }
  int(f: number, v: number): void {
    this.varint(f * 8);
    this.varint(v);
  }
  bytes(f: number, b: Uint8Array | number[]): void {
    this.varint(f * 8 + 2);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
  }
  str(f: number, s: string): void {
    this.bytes(f, Array.from(new TextEncoder().encode(s)));
  }
  msg(f: number, fill: (w: W) => void): void {
    const inner = new W();
    fill(inner);
    this.bytes(f, inner.parts);
  }
}

type Tensor = { name: string; dtype: 1 | 7; dims: number[]; data: Float32Array | BigInt64Array };

/** Serialized ModelProto (opset 17) of the spec's graph. */
export function buildContractModel(spec: ContractModelSpec): Uint8Array {
  const { imageSize: s, contextLength: l, vocabSize: v } = spec;
  if (spec.table.length !== v || spec.table[0] !== 0)
    throw new Error("table must have vocabSize entries with table[0] = 0");
  const tokensName = spec.tokensInputName ?? "tokens";
  const inits: Tensor[] = [
    { name: "table", dtype: 1, dims: [v], data: Float32Array.from(spec.table) },
    { name: "a", dtype: 1, dims: [], data: Float32Array.from([spec.a]) },
    { name: "b", dtype: 1, dims: [], data: Float32Array.from([spec.b]) },
    { name: "bias", dtype: 1, dims: [3], data: Float32Array.from(spec.channelBias) },
    { name: "axes1", dtype: 7, dims: [1], data: BigInt64Array.from([1n]) },
    { name: "shape4", dtype: 7, dims: [4], data: BigInt64Array.from([-1n, 1n, 1n, 1n]) },
  ];
  const nodes: [string, string[], string, Record<string, number>?][] = [
    ["Gather", ["table", tokensName], "g", { axis: 0 }],
    ["ReduceSum", ["g", "axes1"], "tok", { keepdims: 0 }],
    ["Mul", ["t", "b"], "tb"],
    ["Add", ["tok", "tb"], "per_row"],
    ["Reshape", ["per_row", "shape4"], "per_row4"],
    ["Mul", ["x", "a"], "ax"],
    ["Add", ["ax", "per_row4"], "e0"],
    ["Add", ["e0", "bias"], "eps"],
  ];
  const valueInfo = (w: W, name: string, elem: number, dims: (number | string)[]) => {
    w.str(1, name);
    w.msg(2, (tp) =>
      tp.msg(1, (tt) => {
        tt.int(1, elem);
        tt.msg(2, (sh) =>
          dims.forEach((d) => sh.msg(1, (dm) => (typeof d === "number" ? dm.int(1, d) : dm.str(2, d)))),
        );
      }),
    );
  };
  const m = new W();
  m.int(1, 8);
  m.str(2, "likewise-serving-test");
  m.msg(7, (g) => {
    nodes.forEach(([op, ins, out, attrs]) =>
      g.msg(1, (n) => {
        ins.forEach((i) => n.str(1, i));
        n.str(2, out);
        n.str(4, op);
        Object.entries(attrs ?? {}).forEach(([k, val]) =>
          n.msg(5, (a) => {
            a.str(1, k);
            a.int(3, val);
            a.int(20, 2);
          }),
        );
      }),
    );
    g.str(2, "contract");
    inits.forEach((t) =>
      g.msg(5, (tw) => {
        t.dims.forEach((d) => tw.int(1, d));
        tw.int(2, t.dtype);
        tw.str(8, t.name);
        tw.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      }),
    );
    g.msg(11, (vi) => valueInfo(vi, tokensName, 7, ["N", l]));
    g.msg(11, (vi) => valueInfo(vi, "x", 1, ["N", s, s, 3]));
    g.msg(11, (vi) => valueInfo(vi, "t", 1, ["N"]));
    g.msg(12, (vi) => valueInfo(vi, "eps", 1, ["N", s, s, 3]));
  });
  m.msg(8, (op) => {
    op.str(1, "");
    op.int(2, 17);
  });
  return Uint8Array.from(m.parts);
}

/** A default small spec: 8×8 images, context 4, vocab of 6 words. */
export function defaultContractSpec(overrides: Partial<ContractModelSpec> = {}): ContractModelSpec {
  return {
    imageSize: 8,
    contextLength: 4,
    vocabSize: 6,
    a: 0.3,
    b: 0.0005,
    table: [0, 0.05, 0.2, -0.3, 0.1, 0.4],
    channelBias: [0.1, -0.05, 0],
    ...overrides,
  };
}

export const CONTRACT_VOCAB = ["<pad>", "<unk>", "red", "circle", "blue", "square"];

/** A linear-β ᾱ schedule over T steps (β from 1e-4 to 0.02), for fixtures. */
export function linearAlphasCumprod(timesteps = 1000): number[] {
  const out: number[] = [];
  let prod = 1;
  for (let i = 0; i < timesteps; i++) {
    const beta = 1e-4 + ((0.02 - 1e-4) * i) / (timesteps - 1);
    prod *= 1 - beta;
    out.push(prod);
  }
  return out;
}
