/**
 * ONNX export of a `tiny` model: the forward definition (model/unet.ts) interpreted by OnnxOps
 * into one opset-17 graph obeying the project's ONNX contract (model/ops.ts):
 *   tokens int64 [N, L], x float32 [N, H, W, 3] (NHWC), t float32 [N] → eps float32 [N, H, W, 3].
 * The graph runs NCHW inside, with one Transpose at each end so serving feeds NHWC directly.
 * Use `exportVerifiedOnnx` (parity.ts) in production: it refuses bytes that ORT does not run
 * identically to tfjs.
 */
import { type ModelConfig, validateModelConfig } from "../model/config";
import { checkWeights, type WeightTensor } from "../model/params";
import { describeModel } from "../model/spec-ops";
import { modelForward } from "../model/unet";
import { GraphBuilder, attr } from "./graph-builder";
import { OnnxOps, onnxParams, type OnnxTensor } from "./onnx-ops";

export const ONNX_OPSET = 17;
/** Graph I/O names of the contract; serving binds to these. */
export const ONNX_IO = { tokens: "tokens", x: "x", t: "t", eps: "eps" } as const;

export type ExportOptions = {
  /** Free-form producer version (e.g. the model version id); stored in ModelProto.producer_version. */
  producerVersion?: string;
  /** Extra ModelProto.metadata_props entries. The config is always stored as "likewise.config". */
  metadata?: Record<string, string>;
};

/**
 * cfg + weights (every declared parameter, HWIO convs) → serialized ONNX ModelProto bytes.
 * Throws KtoError("INVALID_CONFIG" | "WEIGHTS_MISMATCH") for a bad config or weight map.
 * Does NOT check numerical parity; see exportVerifiedOnnx.
 */
export function exportOnnx(
  cfg: ModelConfig,
  weights: ReadonlyMap<string, WeightTensor>,
  options: ExportOptions = {},
): Uint8Array {
  validateModelConfig(cfg);
  checkWeights(describeModel(cfg).decls, weights);
  const s = cfg.imageSize;
  const l = cfg.text.contextLength;
  const g = new GraphBuilder(`likewise-${cfg.family}`);
  const tokens = g.input(ONNX_IO.tokens, "int64", ["N", l]);
  const xNhwc = g.input(ONNX_IO.x, "float", ["N", s, s, 3]);
  const t = g.input(ONNX_IO.t, "float", ["N"]);
  const xNchw = g.op("Transpose", [xNhwc], { perm: attr.ints([0, 3, 1, 2]) }, "x_nchw");
  const ops = new OnnxOps(g);
  const inputs: { tokens: OnnxTensor; x: OnnxTensor; t: OnnxTensor } = {
    tokens: { kind: "tokens", name: tokens, shape: [-1, l] },
    x: { kind: "image", name: xNchw, shape: [-1, s, s, 3] },
    t: { kind: "seq", name: t, shape: [-1] },
  };
  const epsNchw = modelForward(cfg, ops, onnxParams(weights), inputs);
  const eps = g.op("Transpose", [epsNchw.name], { perm: attr.ints([0, 2, 3, 1]) }, ONNX_IO.eps);
  g.output(eps, ONNX_IO.eps, "float", ["N", s, s, 3]);
  return g.encode({
    opsetVersion: ONNX_OPSET,
    producerVersion: options.producerVersion ?? "0",
    metadata: { ...options.metadata, "likewise.config": JSON.stringify(cfg) },
  });
}
