/**
 * `OnnxOps`: the third interpreter of the model definition (model/ops.ts). Instead of computing,
 * each op appends ONNX nodes (opset 17) to a GraphBuilder. Images live in NCHW inside the graph
 * (ORT's fast conv layout); the handle keeps the *semantic* shape [N, H, W, C] so the forward
 * definition never sees the difference. Sequence/vector tensors are row-major as everywhere.
 * Forms chosen after the platform measurements (reference/platform-ml.md §3):
 * GroupNorm = Reshape → InstanceNormalization → Reshape → Mul/Add; SiLU = Mul(x, Sigmoid(x));
 * nearest upsample = Resize(asymmetric, floor); conv kernels HWIO → OIHW initializers.
 */
import { type ConvOptions, type Ops, type ParamDecl, type Params } from "../model/ops";
import { sameShape, type WeightTensor } from "../model/params";
import { attr, type GraphBuilder } from "./graph-builder";

/**
 * A value in the graph under construction. `shape` is semantic; the batch dim is -1 (dynamic).
 * Parameters are carried with their data and become initializers on first use, in the layout
 * the consuming op needs (conv: OIHW; GroupNorm affine: [C,1,1]; image position table: [C,H,W];
 * everything else as stored).
 */
export type OnnxTensor =
  | { readonly kind: "image" | "seq" | "tokens"; readonly name: string; readonly shape: readonly number[] }
  | {
      readonly kind: "param";
      readonly name: string;
      readonly shape: readonly number[];
      readonly data: Float32Array;
    };

const BATCH = -1;
/** TensorProto.DataType INT64. */
const ONNX_INT64 = 7;

function perm<T>(xs: readonly T[], p: readonly number[]): T[] {
  return p.map((i) => {
    const v = xs[i];
    if (v === undefined) throw new Error(`internal: permutation index ${i} out of range`);
    return v;
  });
}

function dimOf(shape: readonly number[], i: number): number {
  const d = shape[i < 0 ? shape.length + i : i];
  if (d === undefined) throw new Error(`internal: axis ${i} out of range for [${shape.join(",")}]`);
  return d;
}

/** HWIO [kh,kw,cin,cout] → OIHW [cout,cin,kh,kw]. */
export function hwioToOihw(w: Float32Array, k: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++)
      for (let c = 0; c < cin; c++)
        for (let o = 0; o < cout; o++)
          out[((o * cin + c) * k + i) * k + j] = w[((i * k + j) * cin + c) * cout + o] ?? 0;
  return out;
}

/** Image position table HWC [h,w,c] → CHW [c,h,w]. */
export function hwcToChw(t: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(t.length);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let k = 0; k < c; k++) out[(k * h + i) * w + j] = t[(i * w + j) * c + k] ?? 0;
  return out;
}

export class OnnxOps implements Ops<OnnxTensor> {
  /** param name + layout → initializer name, so a weight used twice is stored once. */
  private readonly materialized = new Map<string, string>();

  constructor(private readonly g: GraphBuilder) {}

  // ---- helpers -------------------------------------------------------------------------------

  private value(t: OnnxTensor): string {
    if (t.kind !== "param") return t.name;
    return this.materialize(t, "plain", t.shape, () => t.data);
  }

  private materialize(
    p: OnnxTensor & { kind: "param" },
    layout: string,
    dims: readonly number[],
    data: () => Float32Array,
  ): string {
    const key = `${p.name}|${layout}`;
    const hit = this.materialized.get(key);
    if (hit) return hit;
    const name = this.g.initializer(
      layout === "plain" ? p.name : `${p.name}.${layout}`,
      "float",
      dims,
      data(),
    );
    this.materialized.set(key, name);
    return name;
  }

  private param(t: OnnxTensor, what: string): OnnxTensor & { kind: "param" } {
    if (t.kind !== "param")
      throw new Error(`OnnxOps: ${what} must be a parameter (got a computed ${t.kind})`);
    return t;
  }

  private like(t: OnnxTensor, name: string, shape: readonly number[] = t.shape): OnnxTensor {
    return { kind: t.kind === "param" ? "seq" : t.kind, name, shape };
  }

  private image(name: string, shape: readonly number[]): OnnxTensor {
    return { kind: "image", name, shape };
  }

  // ---- Ops<OnnxTensor> -----------------------------------------------------------------------

  conv2d(x: OnnxTensor, w: OnnxTensor, b: OnnxTensor, opts: ConvOptions): OnnxTensor {
    const wp = this.param(w, "conv2d weight");
    const [k, , cin, cout] = wp.shape as [number, number, number, number];
    const wName = this.materialize(wp, "oihw", [cout, cin, k, k], () => hwioToOihw(wp.data, k, cin, cout));
    const [n, h, wd] = x.shape as [number, number, number, number];
    const ho = Math.floor((h + 2 * opts.pad - k) / opts.stride) + 1;
    const wo = Math.floor((wd + 2 * opts.pad - k) / opts.stride) + 1;
    const out = this.g.op("Conv", [this.value(x), wName, this.value(b)], {
      kernel_shape: attr.ints([k, k]),
      pads: attr.ints([opts.pad, opts.pad, opts.pad, opts.pad]),
      strides: attr.ints([opts.stride, opts.stride]),
    });
    return this.image(out, [n, ho, wo, cout]);
  }

  dense(x: OnnxTensor, w: OnnxTensor, b: OnnxTensor): OnnxTensor {
    const dout = dimOf(w.shape, 1);
    const shape = [...x.shape.slice(0, -1), dout];
    // Gemm folds the bias for [N, D]; higher ranks use MatMul + Add (ORT fuses them into one kernel).
    if (x.shape.length === 2)
      return this.like(x, this.g.op("Gemm", [this.value(x), this.value(w), this.value(b)]), shape);
    return this.like(
      x,
      this.g.op("Add", [this.g.op("MatMul", [this.value(x), this.value(w)]), this.value(b)]),
      shape,
    );
  }

  groupNorm(x: OnnxTensor, gamma: OnnxTensor, beta: OnnxTensor, groups: number, eps: number): OnnxTensor {
    const [, h, w, c] = x.shape as [number, number, number, number];
    const gp = this.param(gamma, "groupNorm gamma");
    const bp = this.param(beta, "groupNorm beta");
    // Groups are contiguous channel blocks, so [N, C, H, W] → [N, G, C/G·H·W] puts each group in one row.
    const grouped = this.g.op("Reshape", [this.value(x), this.g.constInt64([0, groups, -1])]);
    const normed = this.g.op(
      "InstanceNormalization",
      [
        grouped,
        this.g.constFloat(Array<number>(groups).fill(1), [groups]),
        this.g.constFloat(Array<number>(groups).fill(0), [groups]),
      ],
      {
        epsilon: attr.float(eps),
      },
    );
    const back = this.g.op("Reshape", [normed, this.g.constInt64([0, c, h, w])]);
    const scaled = this.g.op("Mul", [back, this.materialize(gp, "c11", [c, 1, 1], () => gp.data)]);
    return this.image(
      this.g.op(
        "Add",
        [scaled, this.materialize(bp, "c11", [c, 1, 1], () => bp.data)],
        undefined,
        "groupnorm",
      ),
      x.shape,
    );
  }

  layerNorm(x: OnnxTensor, gamma: OnnxTensor, beta: OnnxTensor, eps: number): OnnxTensor {
    const out = this.g.op("LayerNormalization", [this.value(x), this.value(gamma), this.value(beta)], {
      axis: attr.int(-1),
      epsilon: attr.float(eps),
    });
    return this.like(x, out);
  }

  silu(x: OnnxTensor): OnnxTensor {
    const v = this.value(x);
    return this.like(x, this.g.op("Mul", [v, this.g.op("Sigmoid", [v])], undefined, "silu"));
  }

  add(a: OnnxTensor, b: OnnxTensor): OnnxTensor {
    return this.like(
      a.kind === "param" ? b : a,
      this.g.op("Add", [this.value(a), this.value(b)]),
      a.kind === "param" ? b.shape : a.shape,
    );
  }

  mul(a: OnnxTensor, b: OnnxTensor): OnnxTensor {
    return this.like(a, this.g.op("Mul", [this.value(a), this.value(b)]));
  }

  scale(x: OnnxTensor, s: number): OnnxTensor {
    return this.like(x, this.g.op("Mul", [this.value(x), this.g.constFloat([s], [])]));
  }

  addChannels(x: OnnxTensor, v: OnnxTensor): OnnxTensor {
    const v4 = this.g.op("Unsqueeze", [this.value(v), this.g.constInt64([2, 3])]); // [N, C] → [N, C, 1, 1]
    return this.image(this.g.op("Add", [this.value(x), v4]), x.shape);
  }

  mulChannels(x: OnnxTensor, v: OnnxTensor): OnnxTensor {
    const v4 = this.g.op("Unsqueeze", [this.value(v), this.g.constInt64([2, 3])]); // [N, C] → [N, C, 1, 1]
    return this.image(this.g.op("Mul", [this.value(x), v4]), x.shape);
  }

  addPositions(x: OnnxTensor, table: OnnxTensor): OnnxTensor {
    const tp = this.param(table, "position table");
    const [h, w, c] = tp.shape as [number, number, number];
    const name = this.materialize(tp, "chw", [c, h, w], () => hwcToChw(tp.data, h, w, c)); // broadcasts over N
    return this.image(this.g.op("Add", [this.value(x), name]), x.shape);
  }

  concatChannels(a: OnnxTensor, b: OnnxTensor): OnnxTensor {
    const [n, h, w, ca] = a.shape as [number, number, number, number];
    const cb = dimOf(b.shape, 3);
    return this.image(this.g.op("Concat", [this.value(a), this.value(b)], { axis: attr.int(1) }), [
      n,
      h,
      w,
      ca + cb,
    ]);
  }

  upsample2x(x: OnnxTensor): OnnxTensor {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const out = this.g.op("Resize", [this.value(x), "", this.g.constFloat([1, 1, 2, 2], [4])], {
      mode: attr.string("nearest"),
      coordinate_transformation_mode: attr.string("asymmetric"),
      nearest_mode: attr.string("floor"),
    });
    return this.image(out, [n, 2 * h, 2 * w, c]);
  }

  imageToSequence(x: OnnxTensor): OnnxTensor {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    // NCHW → [N, C, H·W] → [N, H·W, C]: position h·W + w, as tfjs's NHWC reshape gives.
    const flat = this.g.op("Reshape", [this.value(x), this.g.constInt64([0, c, h * w])]);
    return {
      kind: "seq",
      name: this.g.op("Transpose", [flat], { perm: attr.ints([0, 2, 1]) }),
      shape: [n, h * w, c],
    };
  }

  sequenceToImage(x: OnnxTensor, height: number, width: number): OnnxTensor {
    const [n, l, c] = x.shape as [number, number, number];
    if (l !== height * width) throw new Error(`sequenceToImage: ${l} positions vs ${height}×${width}`);
    const chw = this.g.op("Transpose", [this.value(x)], { perm: attr.ints([0, 2, 1]) });
    return this.image(this.g.op("Reshape", [chw, this.g.constInt64([0, c, height, width])]), [
      n,
      height,
      width,
      c,
    ]);
  }

  reshape(x: OnnxTensor, shape: readonly number[]): OnnxTensor {
    // Only batch-preserving reshapes occur in the model: the single -1 must stand for N.
    const perBatch = x.shape.filter((d) => d !== BATCH).reduce((a, b) => a * b, 1);
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (shape.filter((d) => d === -1).length !== 1 || perBatch !== known) {
      throw new Error(
        `OnnxOps.reshape: [${x.shape.join(",")}] → [${shape.join(",")}] is not a batch-preserving reshape`,
      );
    }
    return this.like(x, this.g.op("Reshape", [this.value(x), this.g.constInt64(shape)]), shape);
  }

  transpose(x: OnnxTensor, p: readonly number[]): OnnxTensor {
    return this.like(x, this.g.op("Transpose", [this.value(x)], { perm: attr.ints(p) }), perm(x.shape, p));
  }

  matMul(a: OnnxTensor, b: OnnxTensor): OnnxTensor {
    return this.like(a, this.g.op("MatMul", [this.value(a), this.value(b)]), [
      ...a.shape.slice(0, -1),
      dimOf(b.shape, -1),
    ]);
  }

  softmax(x: OnnxTensor): OnnxTensor {
    return this.like(x, this.g.op("Softmax", [this.value(x)], { axis: attr.int(-1) }));
  }

  embedding(tokens: OnnxTensor, table: OnnxTensor): OnnxTensor {
    const out = this.g.op("Gather", [this.value(table), this.value(tokens)], { axis: attr.int(0) });
    return { kind: "seq", name: out, shape: [...tokens.shape, dimOf(table.shape, 1)] };
  }

  timestepEmbedding(t: OnnxTensor, dim: number): OnnxTensor {
    const half = dim / 2;
    // Same frequencies, computed the same way (float64 then rounded to float32), as TfOps.
    const freqs = Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
    const args = this.g.op("Mul", [
      this.g.op("Unsqueeze", [this.value(t), this.g.constInt64([1])]),
      this.g.constFloat(freqs, [1, half]),
    ]);
    const out = this.g.op(
      "Concat",
      [this.g.op("Sin", [args]), this.g.op("Cos", [args])],
      { axis: attr.int(1) },
      "temb",
    );
    return { kind: "seq", name: out, shape: [dimOf(t.shape, 0), dim] };
  }

  scaleByTimestep(x: OnnxTensor, t: OnnxTensor, table: Float32Array): OnnxTensor {
    const index = this.g.op("Cast", [this.value(t)], { to: attr.int(ONNX_INT64) });
    const s = this.g.op("Gather", [this.g.constFloat(Array.from(table), [table.length]), index], {
      axis: attr.int(0),
    });
    const s4 = this.g.op("Unsqueeze", [s, this.g.constInt64([1, 2, 3])]); // [N] → [N, 1, 1, 1]
    return this.image(this.g.op("Mul", [this.value(x), s4]), x.shape);
  }
}

/** Params<OnnxTensor> over a weight map: checks each declaration's shape, hands back a param handle. */
export function onnxParams(
  weights: ReadonlyMap<string, WeightTensor>,
  used?: Set<string>,
): Params<OnnxTensor> {
  return {
    get(decl: ParamDecl): OnnxTensor {
      const w = weights.get(decl.name);
      if (!w) throw new Error(`missing parameter ${decl.name}`);
      if (!sameShape(w.shape, decl.shape))
        throw new Error(
          `parameter ${decl.name} has shape [${w.shape.join(",")}], expected [${decl.shape.join(",")}]`,
        );
      used?.add(decl.name);
      return { kind: "param", name: decl.name, shape: w.shape, data: w.data };
    },
  };
}
