/**
 * Whole-batch statistics of the alignment objectives from per-sample errors, in float64 on the main
 * thread: the reference point z over the *whole* step batch (the official code all-reduces it across
 * GPUs, so it never depends on how the batch is split; digest §1.2) and the per-step metrics
 * (metrics.ts) of a batch whose shards were computed by several gradient engines. The formulas are
 * those of kto-loss.ts / dpo-loss.ts / sft-loss.ts; batch-metrics.test.ts checks that both agree.
 */
import { KtoError } from "../errors";
import { type ObjectiveMetrics } from "./metrics";
import {
  dpoOptionsFromCodes,
  ktoOptionsFromCodes,
  sftOptionsFromCodes,
  type ReferencePoint,
  type Utility,
} from "./options";

/** Per-sample numbers of one batch, in slot order (each [B]). */
export type SampleStats = {
  /** ‖ε − ε_θ‖²_mean per sample. */
  readonly errPolicy: Float32Array;
  /** ‖ε − ε_ref‖²_mean per sample (objectives with a reference). */
  readonly errRef?: Float32Array;
  /** ‖ε_θ − ε_ref‖²_mean per sample (objectives with a reference). */
  readonly drift?: Float32Array;
};

/** Shards' stats (in slot order) → the batch's stats. */
export function concatStats(parts: readonly SampleStats[]): SampleStats {
  const cat = (pick: (s: SampleStats) => Float32Array | undefined): Float32Array | undefined => {
    const arrays = parts.map(pick);
    if (arrays.some((a) => a === undefined)) return undefined;
    const out = new Float32Array(arrays.reduce((n, a) => n + (a?.length ?? 0), 0));
    let off = 0;
    for (const a of arrays as Float32Array[]) {
      out.set(a, off);
      off += a.length;
    }
    return out;
  };
  const errRef = cat((s) => s.errRef);
  const drift = cat((s) => s.drift);
  return {
    errPolicy: cat((s) => s.errPolicy) ?? new Float32Array(0),
    ...(errRef ? { errRef } : {}),
    ...(drift ? { drift } : {}),
  };
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] ?? 0;
  return xs.length ? s / xs.length : 0;
};

/** mean over the entries where mask is true; 0 for an empty class (as kto-loss.ts `maskedMean`). */
function maskedMean(xs: ArrayLike<number>, mask: readonly boolean[]): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) {
    if (!mask[i]) continue;
    s += xs[i] ?? 0;
    n++;
  }
  return s / Math.max(n, 1);
}

/** g = err_ref − err_policy per sample (float64). */
export function implicitRewards(stats: SampleStats): Float64Array {
  const { errPolicy, errRef } = stats;
  if (!errRef) throw new KtoError("INVALID_OBJECTIVE", "implicit rewards need the reference errors");
  return Float64Array.from(errPolicy, (p, i) => (errRef[i] ?? Number.NaN) - p);
}

/**
 * z over a whole batch (reference-point.ts semantics): g [B] and labels [B] (+1/−1) of the matched samples;
 * `mismatched` = the stats of the same (x_t, t, ε) with prompts rolled by one over the whole batch.
 */
export function referencePointOf(
  kind: ReferencePoint,
  g: ArrayLike<number>,
  labels: ArrayLike<number>,
  mismatched?: SampleStats,
): number {
  const desirable = Array.from(labels, (y) => y > 0);
  switch (kind) {
    case "batch":
      return Math.max(0, mean(g));
    case "class-balanced":
      return (
        0.5 *
        (maskedMean(g, desirable) +
          maskedMean(
            g,
            desirable.map((d) => !d),
          ))
      );
    case "mismatched":
    case "mismatched-clamped": {
      if (!mismatched)
        throw new KtoError(
          "INVALID_OBJECTIVE",
          `reference point "${kind}" needs the errors on rolled prompts`,
        );
      const z = mean(implicitRewards(mismatched));
      return kind === "mismatched" ? z : Math.max(0, z);
    }
  }
}

const softplus = (x: number): number => (x > 30 ? x : x < -30 ? Math.exp(x) : Math.log1p(Math.exp(x)));
function utilityOf(kind: Utility, u: number): number {
  switch (kind) {
    case "sigmoid":
      return 1 / (1 + Math.exp(-u));
    case "loss-averse":
      return -softplus(-u);
    case "risk-seeking":
      return softplus(u);
  }
}

/**
 * The metrics (metrics.ts) of objective `name` on one batch: its per-sample stats, labels [B] and numeric
 * options; for KTO `z` is the reference point the loss used (computed here from the batch when absent).
 */
export function objectiveMetricsOf(
  name: string,
  options: Readonly<Record<string, number>>,
  stats: SampleStats,
  labels: ArrayLike<number> | undefined,
  z?: number,
): ObjectiveMetrics {
  const B = stats.errPolicy.length;
  const errPolicy = mean(stats.errPolicy);
  const withRef = stats.errRef && stats.drift ? { errRef: mean(stats.errRef), kl: mean(stats.drift) } : {};
  if (name === "kto") {
    const { z: _fixed, ...codes } = options;
    const o = ktoOptionsFromCodes(codes);
    if (!labels) throw new KtoError("INVALID_OBJECTIVE", "KTO metrics need labels");
    const g = implicitRewards(stats);
    const zz = z ?? referencePointOf(o.referencePoint, g, labels);
    const desirable = Array.from(labels, (y) => y > 0);
    let loss = 0;
    let right = 0;
    for (let i = 0; i < B; i++) {
      const d = desirable[i] ?? false;
      const u = (d ? 1 : -1) * o.beta * ((g[i] ?? 0) - zz);
      loss += (d ? o.lambdaD : o.lambdaU) * (1 - utilityOf(o.utility, u));
      if (u > 0) right++;
    }
    return {
      loss: loss / B,
      referencePoint: zz,
      rewardDesirable: maskedMean(g, desirable),
      rewardUndesirable: maskedMean(
        g,
        desirable.map((d) => !d),
      ),
      rewardAccuracy: right / B,
      desirableShare: desirable.filter(Boolean).length / B,
      errPolicy,
      ...withRef,
    };
  }
  if (name === "dpo") {
    const { beta } = dpoOptionsFromCodes(options);
    const g = implicitRewards(stats);
    const P = B / 2;
    let loss = 0;
    let right = 0;
    for (let i = 0; i < P; i++) {
      const margin = (g[i] ?? 0) - (g[P + i] ?? 0);
      loss += softplus(-0.5 * beta * margin);
      if (margin > 0) right++;
    }
    return {
      loss: loss / P,
      rewardDesirable: mean(g.subarray(0, P)),
      rewardUndesirable: mean(g.subarray(P)),
      rewardAccuracy: right / P,
      desirableShare: 0.5,
      errPolicy,
      ...withRef,
    };
  }
  if (name === "sft") {
    const { normalize } = sftOptionsFromCodes(options);
    if (!labels) throw new KtoError("INVALID_OBJECTIVE", "SFT metrics need labels");
    const desirable = Array.from(labels, (y) => y > 0);
    const n = desirable.filter(Boolean).length;
    const total = desirable.reduce((s, d, i) => s + (d ? (stats.errPolicy[i] ?? 0) : 0), 0);
    return {
      loss: normalize === "desirable" ? total / Math.max(n, 1) : total / B,
      desirableShare: n / B,
      errPolicy,
    };
  }
  return { loss: errPolicy, errPolicy };
}

/** Size-weighted mean of several batches' metrics (e.g. the micro-batches of one optimizer step). */
export function combineMetrics(
  parts: readonly { readonly size: number; readonly metrics: ObjectiveMetrics }[],
): ObjectiveMetrics {
  const total = parts.reduce((n, p) => n + p.size, 0);
  const out: Record<string, number> = {};
  for (const { size, metrics } of parts) {
    for (const [k, v] of Object.entries(metrics)) out[k] = (out[k] ?? 0) + (v * size) / total;
  }
  return out;
}
