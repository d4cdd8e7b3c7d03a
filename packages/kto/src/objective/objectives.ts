/**
 * Diffusion-KTO, Diffusion-DPO and SFT as training-loop `Objective`s (registered by name in
 * train/objective.ts `OBJECTIVES`, so workers can find them). Enum options travel as numeric codes:
 * - kto: { beta = 5000, lambdaD = 1, lambdaU = 1, utility: 0 sigmoid | 1 loss-averse | 2 risk-seeking,
 *   referencePoint: 0 batch | 1 class-balanced | 2 mismatched | 3 mismatched-clamped, z? }. `z` is set by the
 *   training loop, which computes the reference point over the whole step batch (batch-metrics.ts) — always
 *   for the mismatched variants (they need forwards on rolled prompts), and whenever a batch is split into
 *   shards;
 * - dpo: { beta = 5000 }; the micro-batch is [winners, losers] with shared t and ε per pair;
 * - sft: { normalize: 0 desirable-mean | 1 batch-mean }; no reference model.
 * Labels are +1 desirable / −1 undesirable.
 */
import type * as tf from "@tensorflow/tfjs";

import { KtoError } from "../errors";
import type { Objective, ObjectiveInputs } from "../train/objective";
import { dpoObjective } from "./dpo-loss";
import { ktoObjective } from "./kto-loss";
import { type LossWithMetrics } from "./metrics";
import { dpoOptionsFromCodes, ktoOptionsFromCodes, sftOptionsFromCodes } from "./options";
import { sftObjective } from "./sft-loss";

function need<T>(value: T | undefined, what: string, objective: string): T {
  if (value === undefined) throw new KtoError("INVALID_OBJECTIVE", `objective "${objective}" needs ${what}`);
  return value;
}

/** Objective inputs + numeric options → { loss, metrics } for `kto`. */
export function ktoFromInputs(
  i: ObjectiveInputs,
  options: Readonly<Record<string, number>>,
): LossWithMetrics {
  const { z, ...codes } = options;
  const o = ktoOptionsFromCodes(codes);
  if (z === undefined && (o.referencePoint === "mismatched" || o.referencePoint === "mismatched-clamped")) {
    throw new KtoError(
      "INVALID_OBJECTIVE",
      `reference point "${o.referencePoint}" needs forwards on rolled prompts: the training loop computes it and passes it as option z`,
    );
  }
  return ktoObjective(
    {
      eps: i.eps,
      epsPolicy: i.epsPolicy,
      epsRef: need(i.epsRef, "ε_ref (reference weights)", "kto"),
      labels: need(i.labels, "labels (+1/−1)", "kto"),
      ...(z !== undefined ? { fixedReferencePoint: z } : {}),
    },
    o,
  );
}

export function dpoFromInputs(
  i: ObjectiveInputs,
  options: Readonly<Record<string, number>>,
): LossWithMetrics {
  return dpoObjective(
    {
      eps: i.eps,
      epsPolicy: i.epsPolicy,
      epsRef: need(i.epsRef, "ε_ref (reference weights)", "dpo"),
      ...(i.labels ? { labels: i.labels } : {}),
    },
    dpoOptionsFromCodes(options),
  );
}

export function sftFromInputs(
  i: ObjectiveInputs,
  options: Readonly<Record<string, number>>,
): LossWithMetrics {
  return sftObjective(
    { eps: i.eps, epsPolicy: i.epsPolicy, labels: need(i.labels, "labels (+1/−1)", "sft") },
    sftOptionsFromCodes(options),
  );
}

function lossOnly(f: (i: ObjectiveInputs, o: Readonly<Record<string, number>>) => LossWithMetrics) {
  return (i: ObjectiveInputs, o: Readonly<Record<string, number>>): tf.Scalar => {
    const { loss, metrics } = f(i, o);
    for (const m of Object.values(metrics)) m.dispose();
    return loss;
  };
}

export const KTO_OBJECTIVE: Objective = { name: "kto", needsReference: true, loss: lossOnly(ktoFromInputs) };
export const DPO_OBJECTIVE: Objective = { name: "dpo", needsReference: true, loss: lossOnly(dpoFromInputs) };
export const SFT_OBJECTIVE: Objective = { name: "sft", needsReference: false, loss: lossOnly(sftFromInputs) };

/**
 * The same objectives with their per-step metrics, by registered name: what the training loop (and its
 * workers) should call to stream `loss`, z, class rewards, accuracy, KL proxy and label mix per step.
 */
export const OBJECTIVES_WITH_METRICS: Readonly<
  Record<string, (inputs: ObjectiveInputs, options: Readonly<Record<string, number>>) => LossWithMetrics>
> = {
  kto: ktoFromInputs,
  dpo: dpoFromInputs,
  sft: sftFromInputs,
};
