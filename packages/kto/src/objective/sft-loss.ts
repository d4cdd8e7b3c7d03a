/**
 * Supervised fine-tuning baseline of Diffusion-KTO (Li et al. 2024 §5: "fine-tune on the subset of
 * images labelled as preferred using the standard denoising objective"), on the same per-sample errors:
 * undesirable samples contribute nothing, neither to the loss nor to its gradient. Normalisation:
 * `desirable` (default) = mean over the desirable samples of the batch (0 with zero gradient when there
 * are none); `batch` = Σ over desirable / B, as the code's `--loss sft` (its step size then scales with
 * the desirable share). No reference model is needed.
 */
import * as tf from "@tensorflow/tfjs";

import { assertFinite, batchSize, readLabels } from "./checks";
import { denoisingError } from "./denoising-error";
import { type LossWithMetrics } from "./metrics";
import { resolveSftOptions, type SftOptions } from "./options";

/** errPolicy [B] and labels [B] (+1/−1) → { loss, metrics } (caller disposes all). */
export function sftLossWithMetrics(
  inputs: { errPolicy: tf.Tensor1D; labels: tf.Tensor1D },
  options: Partial<SftOptions> = {},
): LossWithMetrics {
  const { normalize } = resolveSftOptions(options);
  const B = batchSize("SFT", inputs.errPolicy, inputs.labels);
  readLabels(inputs.labels, B);
  assertFinite(inputs.errPolicy, "policy");
  return tf.tidy(() => {
    const desirable = tf.cast(tf.greater(inputs.labels, 0), "float32");
    const total = tf.sum(tf.mul(inputs.errPolicy, desirable));
    const loss =
      normalize === "desirable"
        ? tf.div<tf.Scalar>(total, tf.maximum(tf.sum(desirable), 1))
        : tf.div<tf.Scalar>(total, B);
    return {
      loss,
      metrics: {
        loss: tf.clone(loss),
        desirableShare: tf.mean<tf.Scalar>(desirable),
        errPolicy: tf.mean<tf.Scalar>(inputs.errPolicy),
      },
    };
  });
}

export function sftLoss(
  inputs: { errPolicy: tf.Tensor1D; labels: tf.Tensor1D },
  options: Partial<SftOptions> = {},
): tf.Scalar {
  return tf.tidy(() => sftLossWithMetrics(inputs, options).loss);
}

/** ε [B,…], ε_θ [B,…], labels [B] → { loss, metrics }. */
export function sftObjective(
  inputs: { eps: tf.Tensor; epsPolicy: tf.Tensor; labels: tf.Tensor1D },
  options: Partial<SftOptions> = {},
): LossWithMetrics {
  return tf.tidy(() =>
    sftLossWithMetrics(
      { errPolicy: denoisingError(inputs.eps, inputs.epsPolicy), labels: inputs.labels },
      options,
    ),
  );
}
