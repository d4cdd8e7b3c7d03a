// The decision logic over per-variant sums: SRM blocks, readiness waits, the rule's method decides, guardrails veto.
import { describe, expect, it } from "vitest";

import type { ExperimentWithVariants, VariantMetricSums } from "@likewise/db";

import { analyzeExperiment } from "./analysis";

const T0 = new Date("2026-01-01T00:00:00Z");
const DAY = 86_400_000;

function experiment(overrides: Partial<ExperimentWithVariants> = {}): ExperimentWithVariants {
  const base = {
    id: "e",
    name: "exp",
    hypothesis: "",
    status: "running" as const,
    populationPercent: 100,
    primaryMetric: "like_rate_per_vote",
    guardrails: [],
    minSamplePerVariant: 100,
    minDurationSeconds: 86_400,
    decisionRule: {},
    salt: "s",
    decision: null,
    createdBy: null,
    createdAt: T0,
    startedAt: T0,
    stoppedAt: null,
    decidedAt: null,
    weightsChangedAt: null,
    populationOffset: 0,
    phase: 1,
    phaseStartedAt: null,
    updatedAt: T0,
    variants: [
      {
        id: "c",
        experimentId: "e",
        name: "control",
        modelVersionId: "m0",
        weight: 1,
        isControl: true,
        createdAt: T0,
      },
      {
        id: "t",
        experimentId: "e",
        name: "aligned",
        modelVersionId: "m1",
        weight: 1,
        isControl: false,
        createdAt: T0,
      },
    ],
  };
  return { ...base, ...overrides };
}

/** n users each with 10 votes, a share `p` of them liking 8 of 10 and the rest 2 of 10; optional generations. */
function sums(variantId: string, n: number, p: number, gen = { reqs: 0, fails: 0 }): VariantMetricSums {
  const likers = Math.round(n * p);
  const likes = likers * 8 + (n - likers) * 2;
  const likes2 = likers * 64 + (n - likers) * 4;
  return {
    variantId,
    users: n,
    usersInPhase: n,
    voters: n,
    exposures: n * 12,
    votes: n * 10,
    likes,
    exposures2: n * 144,
    votes2: n * 100,
    likes2,
    likesVotes: likes * 10,
    likesExposures: likes * 12,
    generations: n * gen.reqs,
    generationFailures: n * gen.fails,
    generations2: n * gen.reqs * gen.reqs,
    generationFailures2: n * gen.fails * gen.fails,
    generationFailuresGenerations: n * gen.fails * gen.reqs,
    latencyMs: 0,
    latencyMs2: 0,
    latencyCount: 0,
    latencyCount2: 0,
    latencyMsCount: 0,
  };
}

const later = new Date(T0.getTime() + 2 * DAY);

describe("analyzeExperiment", () => {
  it("recommends the treatment that wins on the primary metric by the sequential rule", () => {
    const a = analyzeExperiment(experiment(), [sums("c", 1000, 0.4), sums("t", 1000, 0.55)], later);
    expect(a.srm.mismatch).toBe(false);
    expect(a.readiness.ready).toBe(true);
    expect(a.recommendation).toMatchObject({ kind: "promote", variantId: "t" });
    expect(a.variants[1]?.comparisons.like_rate_per_vote?.sequential.pValue).toBeLessThan(0.05);
  });

  it("waits for the minimum sample and duration", () => {
    expect(
      analyzeExperiment(experiment(), [sums("c", 50, 0.4), sums("t", 50, 0.9)], later).recommendation.kind,
    ).toBe("wait");
    const early = new Date(T0.getTime() + 3_600_000);
    expect(
      analyzeExperiment(experiment(), [sums("c", 1000, 0.4), sums("t", 1000, 0.55)], early).recommendation
        .kind,
    ).toBe("wait");
  });

  it("a sample-ratio mismatch blocks whatever the metrics say", () => {
    const a = analyzeExperiment(experiment(), [sums("c", 1000, 0.4), sums("t", 1250, 0.55)], later);
    expect(a.srm.mismatch).toBe(true);
    expect(a.recommendation.kind).toBe("blocked");
  });

  it("a worse treatment is rolled back; no difference is inconclusive", () => {
    expect(
      analyzeExperiment(experiment(), [sums("c", 1000, 0.55), sums("t", 1000, 0.4)], later).recommendation
        .kind,
    ).toBe("rollback");
    expect(
      analyzeExperiment(experiment(), [sums("c", 1000, 0.5), sums("t", 1000, 0.5)], later).recommendation
        .kind,
    ).toBe("inconclusive");
  });

  it("a significantly worse guardrail vetoes the promotion", () => {
    const a = analyzeExperiment(
      experiment(),
      [sums("c", 1000, 0.4, { reqs: 10, fails: 0 }), { ...sums("t", 1000, 0.55), ...errorsFor(1000) }],
      later,
    );
    expect(a.guardrailAlerts.map((g) => g.metric)).toContain("generation_error_rate");
    expect(a.recommendation.kind).not.toBe("promote");
  });

  it("the Bayesian rule decides by chance to beat control", () => {
    const exp = experiment({ decisionRule: { method: "bayesian", chanceToBeat: 0.95 } });
    const a = analyzeExperiment(exp, [sums("c", 1000, 0.4), sums("t", 1000, 0.45)], later);
    expect(a.rule.method).toBe("bayesian");
    expect(a.variants[1]?.comparisons.like_rate_per_vote?.bayesian.chanceToBeatControl).toBeGreaterThan(0.95);
    expect(a.recommendation).toMatchObject({ kind: "promote", variantId: "t" });
    // The same data is not yet enough for the always-valid sequential test.
    const seq = analyzeExperiment(experiment(), [sums("c", 1000, 0.4), sums("t", 1000, 0.45)], later);
    expect(seq.recommendation.kind).toBe("inconclusive");
  });
});

/** Half the users see 5 of 10 generations fail, the rest none. */
function errorsFor(n: number): Partial<VariantMetricSums> {
  const half = n / 2;
  return {
    generations: n * 10,
    generationFailures: half * 5,
    generations2: n * 100,
    generationFailures2: half * 25,
    generationFailuresGenerations: half * 50,
  };
}
