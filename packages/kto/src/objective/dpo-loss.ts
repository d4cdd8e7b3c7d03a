/**
 * Diffusion-DPO (Wallace et al. 2023, Eq. 14) in the official code's ½β form, on the same per-sample
 * errors as Diffusion-KTO: L = mean_pairs −log σ(½β·(g_w − g_l)) with g = err_ref − err_policy.
 * Averaged over pairs (KTO averages over images). At the start (g = 0) each image gets ±(β/4)·∇err/P,
 * the same first step as KTO with the same β. Sharing t and ε between the two images of a pair (the
 * code's `timesteps.chunk(2)[0].repeat(2)`) is the data pipeline's job: this function sees only errors.
 */
import * as tf from "@tensorflow/tfjs";

import { KtoError } from "../errors";
import { assertFinite, batchSize } from "./checks";
import { sampleErrors, type SampleErrors } from "./denoising-error";
import { implicitReward } from "./implicit-reward";
import { type LossWithMetrics } from "./metrics";
import { resolveDpoOptions, type DpoOptions } from "./options";

export type DpoInputs = {
  /** Errors [P] of the liked image of each pair. */
  readonly winner: SampleErrors;
  /** Errors [P] of the disliked image of each pair (same prompt, same t and ε as its winner). */
  readonly loser: SampleErrors;
};

/** winner/loser errors [P] → { loss (mean over pairs), metrics } (caller disposes all). */
export function dpoLossWithMetrics(inputs: DpoInputs, options: Partial<DpoOptions> = {}): LossWithMetrics {
  const { beta } = resolveDpoOptions(options);
  const { winner, loser } = inputs;
  batchSize("DPO", winner.policy, winner.reference, winner.drift, loser.policy, loser.reference, loser.drift);
  assertFinite(winner.policy, "winner policy");
  assertFinite(winner.reference, "winner reference");
  assertFinite(loser.policy, "loser policy");
  assertFinite(loser.reference, "loser reference");
  return tf.tidy(() => {
    const gw = implicitReward(winner);
    const gl = implicitReward(loser);
    const margin = tf.sub(gw, gl);
    // −log σ(x) = softplus(−x): finite for any margin.
    const loss = tf.mean<tf.Scalar>(tf.softplus(tf.mul(-0.5 * beta, margin)));
    const metrics = {
      loss: tf.clone(loss),
      rewardDesirable: tf.mean<tf.Scalar>(gw),
      rewardUndesirable: tf.mean<tf.Scalar>(gl),
      rewardAccuracy: tf.mean<tf.Scalar>(tf.cast(tf.greater(margin, 0), "float32")),
      kl: tf.mean<tf.Scalar>(tf.concat([winner.drift, loser.drift])),
      desirableShare: tf.scalar(0.5),
      errPolicy: tf.mean<tf.Scalar>(tf.concat([winner.policy, loser.policy])),
      errRef: tf.mean<tf.Scalar>(tf.concat([winner.reference, loser.reference])),
    };
    return { loss, metrics };
  });
}

export function dpoLoss(inputs: DpoInputs, options: Partial<DpoOptions> = {}): tf.Scalar {
  return tf.tidy(() => dpoLossWithMetrics(inputs, options).loss);
}

/**
 * A batch of 2P samples laid out as the official code's: [winners 0…P−1, losers 0…P−1] (pair i =
 * slots i and P + i) → the two halves. If labels [2P] are given they must read +1×P then −1×P.
 */
export function splitPairBatch(errors: SampleErrors, labels?: tf.Tensor1D): DpoInputs {
  const B = batchSize("DPO batch", errors.policy, errors.reference, errors.drift);
  if (B % 2 !== 0)
    throw new KtoError(
      "INVALID_OBJECTIVE",
      `a DPO batch holds pairs: [winners, losers], so its size must be even (got ${B})`,
    );
  const P = B / 2;
  if (labels) {
    const v = labels.dataSync();
    for (let i = 0; i < B; i++) {
      if (v[i] !== (i < P ? 1 : -1))
        throw new KtoError(
          "INVALID_OBJECTIVE",
          `DPO batch label ${i} is ${v[i]}: expected +1 for slots 0…${P - 1} (winners) and −1 for ${P}…${B - 1} (losers)`,
        );
    }
  }
  const half = (t: tf.Tensor1D, from: number): tf.Tensor1D => tf.slice(t, [from], [P]);
  return {
    winner: {
      policy: half(errors.policy, 0),
      reference: half(errors.reference, 0),
      drift: half(errors.drift, 0),
    },
    loser: {
      policy: half(errors.policy, P),
      reference: half(errors.reference, P),
      drift: half(errors.drift, P),
    },
  };
}

/** ε, ε_θ, ε_ref [2P,…] in the [winners, losers] layout (+ optional labels [2P]) → { loss, metrics }. */
export function dpoObjective(
  inputs: { eps: tf.Tensor; epsPolicy: tf.Tensor; epsRef: tf.Tensor; labels?: tf.Tensor1D },
  options: Partial<DpoOptions> = {},
): LossWithMetrics {
  return tf.tidy(() =>
    dpoLossWithMetrics(
      splitPairBatch(sampleErrors(inputs.eps, inputs.epsPolicy, inputs.epsRef), inputs.labels),
      options,
    ),
  );
}
