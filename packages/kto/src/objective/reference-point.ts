/**
 * Diffusion-KTO reference point z (Li et al. 2024 §4.1: Q_ref = β·KL(πθ ‖ πref), estimated on a batch),
 * with every variant of the official code plus the paper's wording. z is always detached: as in KTO,
 * "the KL term purely serves to control how saturated the loss is" and is never back-propagated.
 */
import * as tf from "@tensorflow/tfjs";

import { detach } from "./denoising-error";
import { type ReferencePoint } from "./options";

/** mean of `values` [B] where `mask` [B] (0/1) is 1; 0 for an empty class (as one GPU with no sample of it gives in the code). */
export function maskedMean(values: tf.Tensor1D, mask: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(values, mask)), tf.maximum(tf.sum(mask), 1)));
}

/**
 * g [B], desirable mask [B] (1 desirable / 0 undesirable), mismatchedReward [B'] (g on rolled prompts,
 * required by the mismatched variants) → z, a detached scalar.
 */
export function referencePoint(
  kind: ReferencePoint,
  reward: tf.Tensor1D,
  desirable: tf.Tensor1D,
  mismatchedReward?: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const g = detach(reward);
    switch (kind) {
      case "batch": // code default `none`: matched samples, clamp ≥ 0
        return tf.relu(tf.mean(g));
      case "class-balanced": // code `sigmoid`: not clamped
        return tf.mul(0.5, tf.add(maskedMean(g, desirable), maskedMean(g, tf.sub(1, desirable))));
      case "mismatched": // code `original`: not clamped
      case "mismatched-clamped": {
        // Callers check presence (kto-loss.ts); this keeps the function total.
        const z = tf.mean(detach(mismatchedReward ?? tf.zerosLike(g)));
        return kind === "mismatched" ? z : tf.relu(z);
      }
    }
  }) as tf.Scalar;
}

/**
 * KTO's mismatched pairs (Ethayarajh et al. 2024; code `roll(c, 1, dim=0)`): image i gets the prompt
 * of image i − 1 (image 0 the last one). tokens int32 [B·L] → [B·L]. The caller runs the policy and
 * the reference on (x_t, t, rolled prompts) and passes those errors as `mismatched` to the KTO loss.
 */
export function rollPrompts(tokens: Int32Array, batch: number, contextLength: number, shift = 1): Int32Array {
  if (tokens.length !== batch * contextLength)
    throw new RangeError(`rollPrompts: expected ${batch}×${contextLength} ids, got ${tokens.length}`);
  const out = new Int32Array(tokens.length);
  for (let i = 0; i < batch; i++) {
    const from = (((i - shift) % batch) + batch) % batch;
    out.set(tokens.subarray(from * contextLength, (from + 1) * contextLength), i * contextLength);
  }
  return out;
}
