/**
 * The parity gate's reference: the tfjs forward (TfOps, the training interpreter) of a weight map
 * on whatever tfjs backend is active. Weights are uploaded once; call dispose() when done.
 */
import * as tf from "@tensorflow/tfjs";

import { type ModelConfig } from "../model/config";
import { type WeightTensor } from "../model/params";
import { tfForward, tfParams } from "../tf/tf-ops";
import { type ReferenceForward } from "./parity";

/** cfg + weights → a ReferenceForward (NHWC in/out, as the ONNX contract) and its dispose(). */
export function tfjsReference(
  cfg: ModelConfig,
  weights: ReadonlyMap<string, WeightTensor>,
): { forward: ReferenceForward; dispose: () => void } {
  const tensors = new Map<string, tf.Tensor>();
  for (const [name, w] of weights) tensors.set(name, tf.tensor(w.data, [...w.shape], "float32"));
  const params = tfParams(tensors);
  const s = cfg.imageSize;
  const l = cfg.text.contextLength;
  const forward: ReferenceForward = async ({ batch, tokens, x, t }) => {
    const eps = tf.tidy(() =>
      tfForward(
        cfg,
        params,
        tf.tensor2d(tokens, [batch, l], "int32"),
        tf.tensor4d(x, [batch, s, s, 3]),
        tf.tensor1d(t),
      ),
    );
    try {
      return (await eps.data()) as Float32Array; // safe: tfForward returns float32
    } finally {
      eps.dispose();
    }
  };
  return { forward, dispose: () => tensors.forEach((v) => v.dispose()) };
}
