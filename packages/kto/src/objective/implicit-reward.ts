/**
 * Diffusion-KTO implicit reward (Li et al. 2024, §4.1; code `g_term = -model_losses - (-ref_loss)`):
 * how much better the policy denoises than the frozen reference on the same (x_t, t, ε, c). It is the
 * per-step log-ratio log πθ/πref up to the weight ω_t; β is applied later, in the utility's argument.
 */
import * as tf from "@tensorflow/tfjs";

import { detach, type SampleErrors } from "./denoising-error";

/** errors.policy, errors.reference: [B] → g = err_ref − err_policy [B]; positive when the policy beats the reference. */
export function implicitReward(errors: Pick<SampleErrors, "policy" | "reference">): tf.Tensor1D {
  // ε_ref never gets gradients, even if the caller passed a reference error computed under a tape.
  return tf.tidy(() => tf.sub(detach(errors.reference), errors.policy));
}
