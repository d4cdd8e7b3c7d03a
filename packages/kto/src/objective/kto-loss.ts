/**
 * The Diffusion-KTO loss (Li et al. 2024, Eq. 8, as the official code computes it; digest §1.2):
 * L = mean_i λ_{y_i}·(1 − U(u_i)), u_i = s_i·β·(g_i − z), s_i = ±1 for desirable/undesirable,
 * g_i = err_ref − err_policy the implicit reward and z the detached reference point. At the start of a
 * round (πθ = πref, so g = z = 0) the sigmoid utility gives each image the gradient ±(β/4)·∇err_policy/B.
 */
import * as tf from "@tensorflow/tfjs";

import { KtoError } from "../errors";
import { assertFinite, batchSize, readLabels } from "./checks";
import { sampleErrors, type SampleErrors } from "./denoising-error";
import { implicitReward } from "./implicit-reward";
import { type LossWithMetrics } from "./metrics";
import { resolveKtoOptions, type KtoOptions } from "./options";
import { maskedMean, referencePoint } from "./reference-point";
import { utility } from "./utility";

export type KtoInputs = {
  /** Per-sample errors [B] of the policy and the reference on the same (x_t, t, ε, c). */
  readonly errors: SampleErrors;
  /** [B]: +1 desirable, −1 undesirable. */
  readonly labels: tf.Tensor1D;
  /**
   * Errors [B'] of the policy and the reference on the same (x_t, t, ε) with prompts rolled by one
   * (`rollPrompts`): required by the `mismatched` reference points, ignored by the others.
   */
  readonly mismatched?: Pick<SampleErrors, "policy" | "reference">;
  /**
   * z computed elsewhere — over the whole step batch when the training loop splits it across gradient
   * engines (batch-metrics.ts `referencePointOf`); replaces the batch-local estimate of any variant.
   */
  readonly fixedReferencePoint?: number;
};

/** Per-sample errors [B] and labels [B] → { loss scalar, metrics } (caller disposes all). Throws INVALID_OBJECTIVE / NON_FINITE_INPUT. */
export function ktoLossWithMetrics(inputs: KtoInputs, options: Partial<KtoOptions> = {}): LossWithMetrics {
  const o = resolveKtoOptions(options);
  const { errors, labels, mismatched } = inputs;
  const B = batchSize("KTO", errors.policy, errors.reference, errors.drift, labels);
  readLabels(labels, B);
  assertFinite(errors.policy, "policy");
  assertFinite(errors.reference, "reference");
  const { fixedReferencePoint } = inputs;
  if (fixedReferencePoint !== undefined && !Number.isFinite(fixedReferencePoint)) {
    throw new KtoError("NON_FINITE_INPUT", `the reference point z is ${fixedReferencePoint}`);
  }
  const isMismatched =
    fixedReferencePoint === undefined &&
    (o.referencePoint === "mismatched" || o.referencePoint === "mismatched-clamped");
  if (isMismatched) {
    if (!mismatched) {
      throw new KtoError(
        "INVALID_OBJECTIVE",
        `reference point "${o.referencePoint}" needs the policy and reference errors on rolled prompts (inputs.mismatched)`,
      );
    }
    batchSize("KTO mismatched errors", mismatched.policy, mismatched.reference);
    assertFinite(mismatched.policy, "mismatched policy");
    assertFinite(mismatched.reference, "mismatched reference");
  }
  const out = tf.tidy(() => {
    const desirable = tf.cast(tf.greater<tf.Tensor1D>(labels, 0), "float32");
    const sign = tf.sub(tf.mul(desirable, 2), 1); // s = 2y − 1
    const g = implicitReward(errors);
    const gMismatched = isMismatched && mismatched ? implicitReward(mismatched) : undefined;
    const z =
      fixedReferencePoint !== undefined
        ? tf.scalar(fixedReferencePoint)
        : referencePoint(o.referencePoint, g, desirable, gMismatched);
    const u = tf.mul<tf.Tensor1D>(tf.mul(sign, o.beta), tf.sub(g, z));
    const weight = tf.add(tf.mul(desirable, o.lambdaD), tf.mul(tf.sub(1, desirable), o.lambdaU));
    const loss = tf.mean<tf.Scalar>(tf.mul(weight, tf.sub(1, utility(o.utility, u))));
    const metrics = {
      loss: tf.clone(loss),
      referencePoint: z,
      rewardDesirable: maskedMean(g, desirable),
      rewardUndesirable: maskedMean(g, tf.sub<tf.Tensor1D>(1, desirable)),
      rewardAccuracy: tf.mean<tf.Scalar>(tf.cast(tf.greater(u, 0), "float32")),
      kl: tf.mean<tf.Scalar>(errors.drift),
      desirableShare: tf.mean<tf.Scalar>(desirable),
      errPolicy: tf.mean<tf.Scalar>(errors.policy),
      errRef: tf.mean<tf.Scalar>(errors.reference),
    };
    return { loss, metrics };
  });
  return out;
}

/** Per-sample errors [B] and labels [B] → scalar KTO loss. */
export function ktoLoss(inputs: KtoInputs, options: Partial<KtoOptions> = {}): tf.Scalar {
  return tf.tidy(() => ktoLossWithMetrics(inputs, options).loss);
}

/**
 * ε [B,…], ε_θ [B,…], ε_ref [B,…] (same t, ε and x_t for both models), labels [B] → { loss, metrics }:
 * the tensor-level entry the training loop calls. Caller disposes everything returned.
 */
export function ktoObjective(
  inputs: {
    eps: tf.Tensor;
    epsPolicy: tf.Tensor;
    epsRef: tf.Tensor;
    labels: tf.Tensor1D;
    mismatched?: Pick<SampleErrors, "policy" | "reference">;
    fixedReferencePoint?: number;
  },
  options: Partial<KtoOptions> = {},
): LossWithMetrics {
  // One tidy (not explicit disposes): under a gradient tape the intermediate errors must outlive this call.
  return tf.tidy(() => {
    const errors = sampleErrors(inputs.eps, inputs.epsPolicy, inputs.epsRef);
    return ktoLossWithMetrics(
      {
        errors,
        labels: inputs.labels,
        ...(inputs.mismatched ? { mismatched: inputs.mismatched } : {}),
        ...(inputs.fixedReferencePoint !== undefined
          ? { fixedReferencePoint: inputs.fixedReferencePoint }
          : {}),
      },
      options,
    );
  });
}
