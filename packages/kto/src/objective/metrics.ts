/**
 * Per-step diagnostics of the alignment objectives, after the official Diffusion-KTO code's logs
 * (`kl`, `diff_pos`, `diff_neg`, `acc`, raw model and reference MSE; digest §1.3, §6 "Watch"): the
 * numbers an admin reads to tell a healthy round. Loss functions return them as scalar tensors next to
 * the loss; `readMetrics` turns them into plain numbers outside any tidy and disposes them.
 */
import type * as tf from "@tensorflow/tfjs";

/**
 * Metric names. Not every objective fills every key (see each loss):
 * - `loss`: the objective value (mean over images for KTO/SFT, over pairs for DPO).
 * - `referencePoint`: z (KTO), detached.
 * - `rewardDesirable` / `rewardUndesirable`: mean implicit reward g = err_ref − err_policy over desirable
 *   (DPO: winners) / undesirable (DPO: losers) samples; 0 when the class is absent. Healthy KTO: desirable
 *   rises above z, undesirable falls below it.
 * - `rewardAccuracy`: share of samples with u > 0 (KTO: the label's side of z) or of pairs with g_w > g_l (DPO).
 * - `kl`: mean ‖ε_θ − ε_ref‖²_mean — for Gaussian reverse steps with a shared variance the per-step
 *   KL(πθ ‖ πref) up to ω_t; ≥ 0, 0 at the start of a round. (The code's `kl` is z; see `referencePoint`.)
 * - `desirableShare`: share of desirable labels in the batch (the label mix; ≈ γ with the sampler).
 * - `errPolicy` / `errRef`: mean raw denoising MSE of the policy / the reference.
 */
export const METRIC_NAMES = [
  "loss",
  "referencePoint",
  "rewardDesirable",
  "rewardUndesirable",
  "rewardAccuracy",
  "kl",
  "desirableShare",
  "errPolicy",
  "errRef",
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export type MetricTensors = Partial<Record<MetricName, tf.Scalar>>;
export type ObjectiveMetrics = Partial<Record<MetricName, number>>;

/** A loss with its diagnostics; the caller owns (and disposes) every tensor. */
export type LossWithMetrics = { readonly loss: tf.Scalar; readonly metrics: MetricTensors };

/** metric tensors → plain numbers (awaited outside tidy); disposes the tensors. */
export async function readMetrics(metrics: MetricTensors): Promise<ObjectiveMetrics> {
  const out: ObjectiveMetrics = {};
  try {
    for (const [name, t] of Object.entries(metrics) as [MetricName, tf.Scalar][]) {
      out[name] = (await t.data())[0] ?? Number.NaN;
    }
  } finally {
    for (const t of Object.values(metrics)) t.dispose();
  }
  return out;
}

/** The synchronous variant of `readMetrics` (for engines that already read the loss synchronously). */
export function readMetricsSync(metrics: MetricTensors): ObjectiveMetrics {
  const out: ObjectiveMetrics = {};
  try {
    for (const [name, t] of Object.entries(metrics) as [MetricName, tf.Scalar][])
      out[name] = t.dataSync()[0] ?? Number.NaN;
  } finally {
    for (const t of Object.values(metrics)) t.dispose();
  }
  return out;
}
