/**
 * Per-sample denoising error, the quantity Diffusion-KTO (Li et al. 2024, §4.1) and Diffusion-DPO
 * (Wallace et al. 2023, Eqs. 12–14) compare between the policy and the frozen reference: replacing
 * the reverse step by the forward posterior turns log πθ/πref into ω_t(‖ε − ε_ref‖² − ‖ε − ε_θ‖²).
 * As in the official code the squared error is averaged (not summed) over every non-batch axis; that
 * 1/D factor is folded into β. The same code serves [B,H,W,3] images and [B,2] toy points.
 */
import * as tf from "@tensorflow/tfjs";

import { KtoError } from "../errors";

/** x → x with a zero gradient (torch's `.detach()`; tfjs has no public stopGradient). */
export const detach: <T extends tf.Tensor>(x: T) => T = tf.customGrad((x: unknown) => {
  const input = x as tf.Tensor;
  return { value: input.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as <T extends tf.Tensor>(x: T) => T;

/** eps, pred: float32 [B, …] (same shape, rank ≥ 2) → [B], mean over all non-batch axes of (pred − eps)². */
export function denoisingError(eps: tf.Tensor, pred: tf.Tensor): tf.Tensor1D {
  if (eps.rank < 2 || eps.shape.join(",") !== pred.shape.join(",")) {
    throw new KtoError(
      "INVALID_OBJECTIVE",
      `denoising error needs two tensors of the same shape [B, …] (rank ≥ 2), got [${eps.shape.join(",")}] and [${pred.shape.join(",")}]`,
    );
  }
  const axes = Array.from({ length: eps.rank - 1 }, (_v, i) => i + 1);
  // square(sub) rather than squaredDifference: the latter's broadcast gradient is wrong in tfjs-core.
  return tf.tidy(() => tf.mean<tf.Tensor1D>(tf.square(tf.sub(pred, eps)), axes));
}

/**
 * The per-sample numbers every alignment objective shares, all [B] float32. `reference` and `drift`
 * never carry gradients (the reference is frozen).
 */
export type SampleErrors = {
  /** ‖ε − ε_θ(x_t, t, c)‖²_mean, differentiable w.r.t. the policy prediction. */
  readonly policy: tf.Tensor1D;
  /** ‖ε − ε_ref(x_t, t, c)‖²_mean, detached. */
  readonly reference: tf.Tensor1D;
  /**
   * ‖ε_θ − ε_ref‖²_mean, detached: for Gaussian reverse steps with a shared variance this is the per-step
   * KL(πθ(x_{t−1}|x_t) ‖ πref(x_{t−1}|x_t)) up to the weight ω_t, i.e. the KL proxy the metrics report.
   */
  readonly drift: tf.Tensor1D;
};

/** eps, epsPolicy, epsRef: [B, …] → per-sample errors [B] (reference and drift detached). Caller disposes. */
export function sampleErrors(eps: tf.Tensor, epsPolicy: tf.Tensor, epsRef: tf.Tensor): SampleErrors {
  if (epsRef.shape.join(",") !== eps.shape.join(",")) {
    throw new KtoError(
      "INVALID_OBJECTIVE",
      `ε_ref has shape [${epsRef.shape.join(",")}], ε has [${eps.shape.join(",")}]`,
    );
  }
  const policy = denoisingError(eps, epsPolicy);
  const [reference, drift] = tf.tidy(() => {
    const ref = detach(epsRef);
    return [denoisingError(eps, ref), denoisingError(ref, detach(epsPolicy))];
  });
  return { policy, reference: reference, drift: drift };
}
