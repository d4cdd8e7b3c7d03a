/**
 * From per-variant per-user sums (db `getExperimentMetrics`) to what the experiment page shows and what a decision
 * may be taken on: per-variant estimates with intervals, comparisons with control by three named methods, the
 * sample-ratio check, readiness (minimum sample and duration) and the decision rule's recommendation. Pure.
 */
import type { ExperimentWithVariants, VariantMetricSums } from "@likewise/db";

import {
  type Comparison,
  compareAggregates,
  meanAggregate,
  normalQuantile,
  type RatioAggregate,
  ratioEstimate,
  type SampleRatioCheck,
  sampleRatioMismatch,
} from "./statistics";

export const METRICS = [
  "like_rate_per_vote",
  "likes_per_exposure",
  "participation",
  "votes_per_user",
  "generation_error_rate",
  "generation_latency_ms",
] as const;
export type MetricKey = (typeof METRICS)[number];
export const PRIMARY_METRICS = ["like_rate_per_vote", "likes_per_exposure"] as const;
export const GUARDRAIL_METRICS = ["generation_error_rate", "generation_latency_ms", "participation"] as const;

/** Which direction is better for each metric. */
const HIGHER_IS_BETTER: Record<MetricKey, boolean> = {
  like_rate_per_vote: true,
  likes_per_exposure: true,
  participation: true,
  votes_per_user: true,
  generation_error_rate: false,
  generation_latency_ms: false,
};

export const METHOD = {
  estimate: "delta method over users (ratio of per-user sums), normal 95% interval",
  fixed: "fixed-horizon two-sided Welch z-test (valid at the planned sample only)",
  sequential:
    "always-valid mSPRT, normal mixture (Johari et al. 2017, 2022), τ = expected lift × control on the primary metric, else tightest at the minimum sample; confidence sequence",
  bayesian: "Bayesian, flat prior, normal approximation: P(treatment > control)",
  srm: "Pearson χ² of assigned users vs weights; red at p < 0.001",
} as const;

export type DecisionMethod = "sequential" | "fixed" | "bayesian";
export type DecisionRule = {
  method: DecisionMethod;
  alpha: number;
  chanceToBeat: number;
  /** Relative lift the experiment expects to find: sets the sequential test's mixing variance. */
  expectedLift: number;
  /** Stop the experiment by itself when a guardrail degrades significantly under the sequential test. */
  autoStopOnGuardrail: boolean;
};

export const DEFAULT_EXPECTED_LIFT = 0.1;

/** The experiment's stored rule with defaults: the sequential test at α = 0.05 (safe under peeking). */
export function decisionRuleOf(exp: Pick<ExperimentWithVariants, "decisionRule">): DecisionRule {
  const r = exp.decisionRule;
  const method = r.method === "fixed" || r.method === "bayesian" ? r.method : "sequential";
  const alpha = typeof r.alpha === "number" && r.alpha > 0 && r.alpha < 0.5 ? r.alpha : 0.05;
  const chanceToBeat =
    typeof r.chanceToBeat === "number" && r.chanceToBeat > 0.5 && r.chanceToBeat < 1 ? r.chanceToBeat : 0.95;
  const expectedLift =
    typeof r.expectedLift === "number" && r.expectedLift > 0 && r.expectedLift <= 10
      ? r.expectedLift
      : DEFAULT_EXPECTED_LIFT;
  return { method, alpha, chanceToBeat, expectedLift, autoStopOnGuardrail: r.autoStopOnGuardrail === true };
}

export function primaryMetricOf(exp: Pick<ExperimentWithVariants, "primaryMetric">): MetricKey {
  return (PRIMARY_METRICS as readonly string[]).includes(exp.primaryMetric)
    ? (exp.primaryMetric as MetricKey)
    : "like_rate_per_vote";
}

export function aggregateOf(s: VariantMetricSums, metric: MetricKey): RatioAggregate {
  const users = s.users;
  switch (metric) {
    case "like_rate_per_vote":
      return { users, sumX: s.likes, sumY: s.votes, sumX2: s.likes2, sumY2: s.votes2, sumXY: s.likesVotes };
    case "likes_per_exposure":
      return {
        users,
        sumX: s.likes,
        sumY: s.exposures,
        sumX2: s.likes2,
        sumY2: s.exposures2,
        sumXY: s.likesExposures,
      };
    case "participation":
      return meanAggregate(users, s.voters, s.voters); // 0/1 per user: Σx² = Σx
    case "votes_per_user":
      return meanAggregate(users, s.votes, s.votes2);
    case "generation_error_rate":
      return {
        users,
        sumX: s.generationFailures,
        sumY: s.generations,
        sumX2: s.generationFailures2,
        sumY2: s.generations2,
        sumXY: s.generationFailuresGenerations,
      };
    case "generation_latency_ms":
      return {
        users,
        sumX: s.latencyMs,
        sumY: s.latencyCount,
        sumX2: s.latencyMs2,
        sumY2: s.latencyCount2,
        sumXY: s.latencyMsCount,
      };
  }
}

export type MetricEstimate = { value: number; lower: number; upper: number };

export function estimateOf(a: RatioAggregate, alpha = 0.05): MetricEstimate {
  const e = ratioEstimate(a);
  const half = normalQuantile(1 - alpha / 2) * Math.sqrt(e.variance);
  return { value: e.value, lower: e.value - half, upper: e.value + half };
}

export type VariantResult = {
  variantId: string;
  name: string;
  isControl: boolean;
  modelVersionId: string;
  weight: number;
  counts: {
    users: number;
    usersInPhase: number;
    voters: number;
    exposures: number;
    votes: number;
    likes: number;
    generations: number;
  };
  metrics: Record<MetricKey, MetricEstimate>;
  /** Against control, per metric (absent for control). */
  comparisons: Partial<Record<MetricKey, Comparison>>;
};

export type Recommendation =
  | { kind: "blocked"; reason: string }
  | { kind: "wait"; reason: string }
  | { kind: "promote"; variantId: string; reason: string }
  | { kind: "rollback"; reason: string }
  | { kind: "inconclusive"; reason: string };

export type ExperimentAnalysis = {
  rule: DecisionRule;
  primaryMetric: MetricKey;
  methods: typeof METHOD;
  variants: VariantResult[];
  srm: SampleRatioCheck & { method: string };
  readiness: {
    ready: boolean;
    minSamplePerVariant: number;
    smallestVariantUsers: number;
    minDurationSeconds: number;
    elapsedSeconds: number;
  };
  /** Guardrails significantly worse for a treatment (by the fixed-horizon test at the rule's α). */
  guardrailAlerts: { variantId: string; metric: MetricKey; relativeLift: number; pValue: number }[];
  /**
   * The experiment's own guardrails (generation error rate / latency) significantly worse for a treatment by the
   * always-valid sequential test at the rule's α — safe to check continuously, so this is what the automatic
   * guardrail stop acts on.
   */
  guardrailBreaches: GuardrailBreach[];
  recommendation: Recommendation;
};

export type GuardrailBreach = {
  variantId: string;
  variantName: string;
  metric: MetricKey;
  control: number;
  treatment: number;
  relativeLift: number;
  sequentialP: number;
};

/** Guardrails the automatic stop watches: the generation path's health, when the experiment lists them. */
export const AUTO_STOP_GUARDRAILS = ["generation_error_rate", "generation_latency_ms"] as const;

/** Is the treatment significantly better (+1), worse (−1) or neither (0) on a metric, by the rule's method? */
export function verdict(c: Comparison, rule: DecisionRule, higherIsBetter = true): -1 | 0 | 1 {
  let sign: number;
  if (rule.method === "bayesian") {
    const p = c.bayesian.chanceToBeatControl;
    if (!Number.isFinite(p)) return 0;
    sign = p >= rule.chanceToBeat ? 1 : 1 - p >= rule.chanceToBeat ? -1 : 0;
  } else {
    const p = rule.method === "sequential" ? c.sequential.pValue : c.fixedHorizon.pValue;
    if (!(p < rule.alpha)) return 0;
    sign = Math.sign(c.difference);
  }
  const v = higherIsBetter ? sign : -sign;
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

export function analyzeExperiment(
  exp: ExperimentWithVariants,
  sums: readonly VariantMetricSums[],
  now: Date = new Date(),
): ExperimentAnalysis {
  const rule = decisionRuleOf(exp);
  const primaryMetric = primaryMetricOf(exp);
  const byId = new Map(sums.map((s) => [s.variantId, s]));
  const empty = (variantId: string): VariantMetricSums => ({
    variantId,
    users: 0,
    usersInPhase: 0,
    voters: 0,
    exposures: 0,
    votes: 0,
    likes: 0,
    exposures2: 0,
    votes2: 0,
    likes2: 0,
    likesVotes: 0,
    likesExposures: 0,
    generations: 0,
    generationFailures: 0,
    generations2: 0,
    generationFailures2: 0,
    generationFailuresGenerations: 0,
    latencyMs: 0,
    latencyMs2: 0,
    latencyCount: 0,
    latencyCount2: 0,
    latencyMsCount: 0,
  });
  const control = exp.variants.find((v) => v.isControl);
  const controlSums = control ? (byId.get(control.id) ?? empty(control.id)) : null;
  const planned = Math.max(exp.minSamplePerVariant, 100);

  const variants = exp.variants.map((v): VariantResult => {
    const s = byId.get(v.id) ?? empty(v.id);
    const metrics = Object.fromEntries(
      METRICS.map((m) => [m, estimateOf(aggregateOf(s, m), rule.alpha)]),
    ) as Record<MetricKey, MetricEstimate>;
    const comparisons: Partial<Record<MetricKey, Comparison>> = {};
    if (!v.isControl && controlSums) {
      for (const m of METRICS) {
        comparisons[m] = compareAggregates(aggregateOf(controlSums, m), aggregateOf(s, m), {
          alpha: rule.alpha,
          plannedUsersPerArm: planned,
          // The stated expectation is about the primary metric; guardrails and secondary metrics have none, so
          // their mixing variance is tuned to the planned sample instead (a degradation may be of any size).
          ...(m === primaryMetric ? { expectedRelativeEffect: rule.expectedLift } : {}),
        });
      }
    }
    return {
      variantId: v.id,
      name: v.name,
      isControl: v.isControl,
      modelVersionId: v.modelVersionId,
      weight: v.weight,
      counts: {
        users: s.users,
        usersInPhase: s.usersInPhase,
        voters: s.voters,
        exposures: s.exposures,
        votes: s.votes,
        likes: s.likes,
        generations: s.generations,
      },
      metrics,
      comparisons,
    };
  });

  const srm = {
    ...(variants.length >= 2
      ? sampleRatioMismatch(
          // Users assigned under the current weights only: a weight change does not raise a false alarm.
          variants.map((v) => v.counts.usersInPhase),
          variants.map((v) => v.weight),
        )
      : { chiSquare: 0, pValue: 1, mismatch: false, expected: [] }),
    method: METHOD.srm,
  };

  const smallest = Math.min(...variants.map((v) => v.counts.users));
  const end = exp.stoppedAt ?? now;
  // Per phase: a new phase restarts the clock as well as the sample.
  const since = exp.phaseStartedAt ?? exp.startedAt;
  const elapsedSeconds = since ? Math.max(0, (end.getTime() - since.getTime()) / 1000) : 0;
  const ready =
    exp.startedAt !== null && smallest >= exp.minSamplePerVariant && elapsedSeconds >= exp.minDurationSeconds;

  const guardrailAlerts: ExperimentAnalysis["guardrailAlerts"] = [];
  for (const v of variants) {
    for (const m of GUARDRAIL_METRICS) {
      const c = v.comparisons[m];
      if (c && verdict(c, { ...rule, method: "fixed" }, HIGHER_IS_BETTER[m]) < 0)
        guardrailAlerts.push({
          variantId: v.variantId,
          metric: m,
          relativeLift: c.relativeLift,
          pValue: c.fixedHorizon.pValue,
        });
    }
  }

  const watched = AUTO_STOP_GUARDRAILS.filter((m) => exp.guardrails.includes(m));
  const guardrailBreaches: GuardrailBreach[] = [];
  for (const v of variants) {
    for (const m of watched) {
      const c = v.comparisons[m];
      if (c && verdict(c, { ...rule, method: "sequential" }, HIGHER_IS_BETTER[m]) < 0)
        guardrailBreaches.push({
          variantId: v.variantId,
          variantName: v.name,
          metric: m,
          control: c.control.value,
          treatment: c.treatment.value,
          relativeLift: c.relativeLift,
          sequentialP: c.sequential.pValue,
        });
    }
  }

  const recommendation = recommend();
  return {
    rule,
    primaryMetric,
    methods: METHOD,
    variants,
    srm,
    readiness: {
      ready,
      minSamplePerVariant: exp.minSamplePerVariant,
      smallestVariantUsers: smallest,
      minDurationSeconds: exp.minDurationSeconds,
      elapsedSeconds,
    },
    guardrailAlerts,
    guardrailBreaches,
    recommendation,
  };

  function recommend(): Recommendation {
    if (srm.mismatch)
      return {
        kind: "blocked",
        reason: `sample-ratio mismatch (χ² = ${srm.chiSquare.toFixed(1)}, p = ${srm.pValue.toExponential(2)}): the assignment is broken; no decision until it is fixed`,
      };
    if (!ready)
      return {
        kind: "wait",
        reason: `needs ≥ ${exp.minSamplePerVariant} users per variant (smallest has ${smallest}) and ≥ ${exp.minDurationSeconds} s (${Math.floor(elapsedSeconds)} s so far)`,
      };
    const treatments = variants.filter((v) => !v.isControl);
    const scored = treatments.map((v) => {
      const c = v.comparisons[primaryMetric];
      return { v, c, verdict: c ? verdict(c, rule) : 0 };
    });
    const winners = scored
      .filter((x) => x.verdict > 0 && !guardrailAlerts.some((g) => g.variantId === x.v.variantId))
      .sort((a, b) => (b.c?.difference ?? 0) - (a.c?.difference ?? 0));
    const best = winners[0];
    if (best)
      return {
        kind: "promote",
        variantId: best.v.variantId,
        reason: `${best.v.name} beats control on ${primaryMetric} (${rule.method} rule at ${rule.method === "bayesian" ? `P ≥ ${rule.chanceToBeat}` : `α = ${rule.alpha}`})`,
      };
    if (scored.length > 0 && scored.every((x) => x.verdict < 0))
      return { kind: "rollback", reason: `every treatment is worse than control on ${primaryMetric}` };
    if (guardrailAlerts.length > 0)
      return {
        kind: "rollback",
        reason: "a guardrail degraded significantly; no winner on the primary metric",
      };
    return {
      kind: "inconclusive",
      reason: `no significant difference on ${primaryMetric} yet (${rule.method} rule)`,
    };
  }
}

/** Evenly spaced cut-offs from the start to `end` (at most `points`, at least one per hour of data). */
export function seriesCutoffs(startedAt: Date, end: Date, points = 12): Date[] {
  const span = Math.max(1, end.getTime() - startedAt.getTime());
  return Array.from({ length: points }, (_, i) => new Date(startedAt.getTime() + (span * (i + 1)) / points));
}
