/**
 * `SpecOps`: the counting interpreter of the model definition. It propagates semantic shapes,
 * records every parameter declaration, and counts forward FLOPs as 2 × multiply-accumulates of
 * conv, dense and attention matMuls (elementwise work, ~1 %, is not counted), the convention of
 * the platform notes.
 */
import { type ModelConfig, validateModelConfig } from "./config";
import { type ParamDecl, type Ops, type Params } from "./ops";
import { shapeSize } from "./params";
import { modelForward } from "./unet";

/** A shape-only tensor handle. */
export type SpecTensor = { readonly shape: readonly number[] };

export type FlopCounts = { conv: number; dense: number; attention: number; total: number };

const dim = (s: readonly number[], i: number): number => {
  const d = s[i < 0 ? s.length + i : i];
  if (d === undefined) throw new Error(`internal: axis ${i} out of range for [${s.join(",")}]`);
  return d;
};

function assertSame(op: string, a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new Error(`${op}: shape mismatch [${a.join(",")}] vs [${b.join(",")}]`);
  }
}

/** Shape-propagating, FLOP-counting interpreter. `flops` accumulates over every op run through it. */
export class SpecOps implements Ops<SpecTensor> {
  readonly flops: FlopCounts = { conv: 0, dense: 0, attention: 0, total: 0 };
  /** Float32 elements produced by conv, norm, attention and resampling ops (a proxy for training memory). */
  activations = 0;

  private produced(t: SpecTensor): SpecTensor {
    this.activations += shapeSize(t.shape);
    return t;
  }

  private count(kind: "conv" | "dense" | "attention", n: number): void {
    this.flops[kind] += n;
    this.flops.total += n;
  }

  conv2d(x: SpecTensor, w: SpecTensor, _b: SpecTensor, o: { stride: 1 | 2; pad: number }): SpecTensor {
    const [n, h, wd, cin] = x.shape as [number, number, number, number];
    const [k, , wcin, cout] = w.shape as [number, number, number, number];
    if (cin !== wcin) throw new Error(`conv2d: input has ${cin} channels, kernel expects ${wcin}`);
    const ho = Math.floor((h + 2 * o.pad - k) / o.stride) + 1;
    const wo = Math.floor((wd + 2 * o.pad - k) / o.stride) + 1;
    this.count("conv", 2 * n * ho * wo * k * k * cin * cout);
    return this.produced({ shape: [n, ho, wo, cout] });
  }
  dense(x: SpecTensor, w: SpecTensor): SpecTensor {
    const din = dim(w.shape, 0);
    const dout = dim(w.shape, 1);
    if (dim(x.shape, -1) !== din) throw new Error(`dense: input width ${dim(x.shape, -1)} vs weight ${din}`);
    this.count("dense", 2 * (shapeSize(x.shape) / din) * din * dout);
    return { shape: [...x.shape.slice(0, -1), dout] };
  }
  groupNorm(x: SpecTensor, _g: SpecTensor, _b: SpecTensor, groups: number): SpecTensor {
    if (dim(x.shape, 3) % groups !== 0) throw new Error("groupNorm: channels not divisible by groups");
    return this.produced(x);
  }
  layerNorm(x: SpecTensor): SpecTensor {
    return x;
  }
  silu(x: SpecTensor): SpecTensor {
    return this.produced(x);
  }
  add(a: SpecTensor, b: SpecTensor): SpecTensor {
    if (b.shape.length === a.shape.length - 1) assertSame("add", a.shape.slice(1), b.shape);
    else assertSame("add", a.shape, b.shape);
    return a;
  }
  mul(a: SpecTensor, b: SpecTensor): SpecTensor {
    assertSame("mul", a.shape, b.shape);
    return a;
  }
  scale(x: SpecTensor): SpecTensor {
    return x;
  }
  addChannels(x: SpecTensor, v: SpecTensor): SpecTensor {
    assertSame("addChannels", [dim(x.shape, 0), dim(x.shape, 3)], v.shape);
    return x;
  }
  mulChannels(x: SpecTensor, v: SpecTensor): SpecTensor {
    assertSame("mulChannels", [dim(x.shape, 0), dim(x.shape, 3)], v.shape);
    return x;
  }
  addPositions(x: SpecTensor, table: SpecTensor): SpecTensor {
    assertSame("addPositions", x.shape.slice(1), table.shape);
    return x;
  }
  concatChannels(a: SpecTensor, b: SpecTensor): SpecTensor {
    assertSame("concatChannels", a.shape.slice(0, 3), b.shape.slice(0, 3));
    return this.produced({ shape: [...a.shape.slice(0, 3), dim(a.shape, 3) + dim(b.shape, 3)] });
  }
  upsample2x(x: SpecTensor): SpecTensor {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    return this.produced({ shape: [n, 2 * h, 2 * w, c] });
  }
  imageToSequence(x: SpecTensor): SpecTensor {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    return { shape: [n, h * w, c] };
  }
  sequenceToImage(x: SpecTensor, height: number, width: number): SpecTensor {
    const [n, l, c] = x.shape as [number, number, number];
    if (l !== height * width) throw new Error(`sequenceToImage: ${l} positions vs ${height}×${width}`);
    return { shape: [n, height, width, c] };
  }
  reshape(x: SpecTensor, shape: readonly number[]): SpecTensor {
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const total = shapeSize(x.shape);
    if (shape.filter((d) => d === -1).length > 1 || total % known !== 0)
      throw new Error(`reshape: [${x.shape.join(",")}] → [${shape.join(",")}]`);
    const out = shape.map((d) => (d === -1 ? total / known : d));
    if (shapeSize(out) !== total)
      throw new Error(`reshape: size mismatch [${x.shape.join(",")}] → [${shape.join(",")}]`);
    return { shape: out };
  }
  transpose(x: SpecTensor, perm: readonly number[]): SpecTensor {
    return { shape: perm.map((p) => dim(x.shape, p)) };
  }
  matMul(a: SpecTensor, b: SpecTensor): SpecTensor {
    const m = dim(a.shape, -2);
    const k = dim(a.shape, -1);
    const n = dim(b.shape, -1);
    if (dim(b.shape, -2) !== k) throw new Error(`matMul: inner dims ${k} vs ${dim(b.shape, -2)}`);
    assertSame("matMul(batch)", a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batch = shapeSize(a.shape.slice(0, -2));
    this.count("attention", 2 * batch * m * k * n);
    return this.produced({ shape: [...a.shape.slice(0, -2), m, n] });
  }
  softmax(x: SpecTensor): SpecTensor {
    return x;
  }
  embedding(tokens: SpecTensor, table: SpecTensor): SpecTensor {
    return { shape: [...tokens.shape, dim(table.shape, 1)] };
  }
  timestepEmbedding(t: SpecTensor, d: number): SpecTensor {
    return { shape: [dim(t.shape, 0), d] };
  }
  scaleByTimestep(x: SpecTensor, t: SpecTensor): SpecTensor {
    if (dim(t.shape, 0) !== dim(x.shape, 0))
      throw new Error("scaleByTimestep: batch of t differs from the image's");
    return this.produced(x);
  }
}

/** Params that record each declaration and hand back its shape. */
class RecordingParams implements Params<SpecTensor> {
  readonly decls: ParamDecl[] = [];
  private readonly seen = new Set<string>();
  get(decl: ParamDecl): SpecTensor {
    if (this.seen.has(decl.name)) throw new Error(`internal: parameter ${decl.name} declared twice`);
    this.seen.add(decl.name);
    this.decls.push(decl);
    return { shape: decl.shape };
  }
}

export type ModelSpec = {
  /** Every parameter, in declaration order (text encoder first, then UNet). */
  readonly decls: readonly ParamDecl[];
  /** Scalar parameter count. */
  readonly paramCount: number;
  /** Forward FLOPs per image (batch 1). */
  readonly flopsPerImage: FlopCounts;
  /** Activation elements per image (SpecOps.activations at batch 1): sizes the training batch cap. */
  readonly activationsPerImage: number;
  /** Output shape for batch 1 (sanity: [1, H, W, 3]). */
  readonly outputShape: readonly number[];
};

/** cfg → parameter declarations, parameter count and forward FLOPs/image, by running the forward on SpecOps. */
export function describeModel(cfg: ModelConfig): ModelSpec {
  validateModelConfig(cfg);
  const ops = new SpecOps();
  const params = new RecordingParams();
  const s = cfg.imageSize;
  const out = modelForward(cfg, ops, params, {
    tokens: { shape: [1, cfg.text.contextLength] },
    x: { shape: [1, s, s, 3] },
    t: { shape: [1] },
  });
  return {
    decls: params.decls,
    paramCount: params.decls.reduce((a, d) => a + shapeSize(d.shape), 0),
    flopsPerImage: { ...ops.flops },
    activationsPerImage: ops.activations,
    outputShape: out.shape,
  };
}
