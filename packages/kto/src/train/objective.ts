/**
 * Training objectives, pluggable into the one training loop. An objective turns the policy's
 * ε-prediction ε_θ(x_t, t, c), the true noise ε and (optionally) a frozen reference model's
 * ε_ref into a scalar loss. Plain denoising MSE (Ho et al. 2020, L_simple) is here; the
 * alignment objectives (Diffusion-KTO, Li et al. 2024; Diffusion-DPO, Wallace et al. 2023; SFT)
 * register beside it. Workers look objectives up by name in `OBJECTIVES`, so an objective used
 * with `workers > 0` must be registered in this module.
 */
import * as tf from "@tensorflow/tfjs";

import { DPO_OBJECTIVE, KTO_OBJECTIVE, SFT_OBJECTIVE } from "../objective/objectives";

export type ObjectiveInputs = {
  /** ε_θ: policy prediction [B,H,W,3]. */
  readonly epsPolicy: tf.Tensor4D;
  /** ε: the noise that was added [B,H,W,3]. */
  readonly eps: tf.Tensor4D;
  /** ε_ref: frozen reference prediction [B,H,W,3], present when `needsReference`. */
  readonly epsRef?: tf.Tensor4D;
  /** t: integer timesteps as float [B]. */
  readonly t: tf.Tensor1D;
  /** Per-example labels [B] from the training set (e.g. +1 desirable / −1 undesirable), if any. */
  readonly labels?: tf.Tensor1D;
  /** Per-sample loss weights [B] (TrainOptions.lossWeighting); only "mse" accepts them. */
  readonly sampleWeights?: tf.Tensor1D;
};

/** Scalar hyper-parameters of an objective (e.g. { beta: 5000 }); plain JSON so it crosses worker boundaries. */
export type ObjectiveOptions = Readonly<Record<string, number>>;

export type Objective = {
  readonly name: string;
  /** True when the loss needs ε_ref from a frozen reference model. */
  readonly needsReference: boolean;
  /** → scalar loss, the mean over the micro-batch (the loop weights micro-batches by size). */
  loss(inputs: ObjectiveInputs, options: ObjectiveOptions): tf.Scalar;
};

/** Mean squared error ‖ε_θ − ε‖² averaged over batch and pixels: [B,H,W,3] × 2 → scalar. */
export function denoisingMse(epsPolicy: tf.Tensor, eps: tf.Tensor): tf.Scalar {
  // square(sub) rather than squaredDifference: the latter's broadcast gradient is wrong in tfjs-core.
  return tf.tidy(() => tf.mean(tf.square(tf.sub(epsPolicy, eps))));
}

/** Σ_i w_i·mean_pixels((ε_θ − ε)_i²) / B: the per-sample weighted denoising MSE ([B,H,W,3] × 2, w [B] → scalar). */
export function weightedDenoisingMse(epsPolicy: tf.Tensor, eps: tf.Tensor, weights: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const perSample = tf.mean(tf.square(tf.sub(epsPolicy, eps)), [1, 2, 3]);
    return tf.mean(tf.mul(perSample, weights));
  });
}

export const MSE_OBJECTIVE: Objective = {
  name: "mse",
  needsReference: false,
  loss: ({ epsPolicy, eps, sampleWeights }) =>
    sampleWeights ? weightedDenoisingMse(epsPolicy, eps, sampleWeights) : denoisingMse(epsPolicy, eps),
};

/** Objectives available by name (in-process and in workers). */
export const OBJECTIVES: Readonly<Record<string, Objective>> = {
  mse: MSE_OBJECTIVE,
  // Alignment objectives (src/objective/objectives.ts documents their numeric option codes).
  kto: KTO_OBJECTIVE,
  dpo: DPO_OBJECTIVE,
  sft: SFT_OBJECTIVE,
};

/** name or objective → objective; throws on an unknown name. */
export function resolveObjective(objective: string | Objective): Objective {
  if (typeof objective !== "string") return objective;
  const found = OBJECTIVES[objective];
  if (!found)
    throw new Error(`unknown objective "${objective}" (known: ${Object.keys(OBJECTIVES).join(", ")})`);
  return found;
}
