// Experiment statistics: distribution functions against published values, the delta method against
// simulation (users, not votes, are the unit), and the property that matters to product teams —
// peeking at a fixed-horizon test daily inflates false positives, the sequential test does not.
import { describe, expect, it } from "vitest";

import {
  chiSquareSf,
  compareAggregates,
  normalCdf,
  normalQuantile,
  ratioEstimate,
  sampleRatioMismatch,
  sequentialTest,
  type RatioAggregate,
} from "./statistics";

/** Seeded PRNG (mulberry32) so every simulation is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Simulated users of one arm: per-user like propensity (heterogeneous) and a variable number of votes. */
function simulateArm(rand: () => number, users: number, meanLike: number): RatioAggregate {
  const agg = { users, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
  for (let u = 0; u < users; u++) {
    // Strongly clustered: a user's propensity is 0.2 or 0.8 around the arm's mean, votes 1…20.
    const p = Math.min(1, Math.max(0, meanLike + (rand() < 0.5 ? -0.3 : 0.3)));
    const votes = 1 + Math.floor(rand() * 20);
    let likes = 0;
    for (let v = 0; v < votes; v++) if (rand() < p) likes++;
    agg.sumX += likes;
    agg.sumY += votes;
    agg.sumX2 += likes * likes;
    agg.sumY2 += votes * votes;
    agg.sumXY += likes * votes;
  }
  return agg;
}

const add = (a: RatioAggregate, b: RatioAggregate): RatioAggregate => ({
  users: a.users + b.users,
  sumX: a.sumX + b.sumX,
  sumY: a.sumY + b.sumY,
  sumX2: a.sumX2 + b.sumX2,
  sumY2: a.sumY2 + b.sumY2,
  sumXY: a.sumXY + b.sumXY,
});

describe("distribution functions (values from R: pnorm, qnorm, pchisq)", () => {
  it("Φ and Φ⁻¹", () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(1)).toBeCloseTo(0.8413447460685429, 13);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316300946, 15);
    expect(normalCdf(-6) / 9.865876450376946e-10).toBeCloseTo(1, 10);
    expect(normalCdf(0.3)).toBeCloseTo(0.6179114221889527, 13);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(1e-10)).toBeCloseTo(-6.361340902404056, 9);
    expect(normalQuantile(0.5)).toBe(0);
    for (const p of [1e-6, 0.01, 0.2, 0.5, 0.77, 0.999])
      expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 12);
  });

  it("χ² upper tail", () => {
    expect(chiSquareSf(3.841458820694124, 1)).toBeCloseTo(0.05, 12);
    expect(chiSquareSf(10.827566170662733, 1)).toBeCloseTo(0.001, 13);
    expect(chiSquareSf(5.991464547107979, 2)).toBeCloseTo(0.05, 12);
    expect(chiSquareSf(16.26623619623813, 3)).toBeCloseTo(0.001, 13);
    expect(chiSquareSf(0, 4)).toBe(1);
  });
});

describe("ratio metrics over users (delta method)", () => {
  it("matches the formula on a small hand-computed example", () => {
    // users (likes, votes): (1,2) (3,4) (0,1) → R = 4/7; per-user vx = vy = cxy = 7/3.
    const agg = { users: 3, sumX: 4, sumY: 7, sumX2: 10, sumY2: 21, sumXY: 14 };
    const r = 4 / 7;
    const my = 7 / 3;
    const expected = (7 / 3 - 2 * r * (7 / 3) + r * r * (7 / 3)) / (3 * my * my); // = 0.026239…
    const e = ratioEstimate(agg);
    expect(e.value).toBeCloseTo(r, 14);
    expect(e.variance).toBeCloseTo(expected, 14);
  });

  it("95% intervals cover the truth ~95% of the time on clustered users; a per-vote binomial interval does not", () => {
    const rand = rng(7);
    let deltaCover = 0;
    let naiveCover = 0;
    const sims = 400;
    for (let s = 0; s < sims; s++) {
      const arm = simulateArm(rand, 200, 0.5);
      const e = ratioEstimate(arm);
      const half = 1.959963984540054 * Math.sqrt(e.variance);
      if (Math.abs(e.value - 0.5) <= half) deltaCover++;
      const naiveHalf = 1.959963984540054 * Math.sqrt((e.value * (1 - e.value)) / arm.sumY);
      if (Math.abs(e.value - 0.5) <= naiveHalf) naiveCover++;
    }
    expect(deltaCover / sims).toBeGreaterThan(0.92);
    expect(deltaCover / sims).toBeLessThan(0.98);
    expect(naiveCover / sims).toBeLessThan(0.8); // votes of one user are far from independent (measured 0.62)
  });
});

describe("peeking: fixed-horizon vs always-valid sequential test (A/A, 20 daily looks)", () => {
  it("false-positive rate at any look: fixed-horizon inflated, sequential within α", () => {
    const rand = rng(11);
    const sims = 300;
    let fixedFalse = 0;
    let seqFalse = 0;
    for (let s = 0; s < sims; s++) {
      let a: RatioAggregate = { users: 0, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
      let b = a;
      let fixedHit = false;
      let seqHit = false;
      for (let day = 0; day < 20; day++) {
        a = add(a, simulateArm(rand, 40, 0.45));
        b = add(b, simulateArm(rand, 40, 0.45));
        const c = compareAggregates(a, b, { plannedUsersPerArm: 800 });
        if (c.fixedHorizon.pValue < 0.05) fixedHit = true;
        if (c.sequential.pValue < 0.05) seqHit = true;
      }
      if (fixedHit) fixedFalse++;
      if (seqHit) seqFalse++;
    }
    expect(fixedFalse / sims).toBeGreaterThan(0.12); // ~2–4× α with 20 looks
    expect(seqFalse / sims).toBeLessThanOrEqual(0.05);
  });

  it("a real lift is still found: power of the sequential test at the planned size", () => {
    const rand = rng(12);
    const sims = 100;
    let found = 0;
    for (let s = 0; s < sims; s++) {
      let a: RatioAggregate = { users: 0, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
      let b = a;
      for (let day = 0; day < 20; day++) {
        a = add(a, simulateArm(rand, 40, 0.45));
        b = add(b, simulateArm(rand, 40, 0.53));
        const c = compareAggregates(a, b, { plannedUsersPerArm: 800 });
        if (c.sequential.pValue < 0.05 && c.difference > 0) {
          found++;
          break;
        }
      }
    }
    expect(found / sims).toBeGreaterThan(0.8);
  });

  it("the confidence sequence is wider than the fixed interval, and excludes 0 exactly when p < α", () => {
    const seq = sequentialTest(0.03, 1e-4, 1e-4);
    const fixedHalf = 1.959963984540054 * 1e-2;
    expect((seq.interval.upper - seq.interval.lower) / 2).toBeGreaterThan(fixedHalf);
    for (const d of [0.01, 0.02, 0.03, 0.04, 0.05]) {
      const t = sequentialTest(d, 1e-4, 1e-4);
      expect(t.pValue < 0.05).toBe(t.interval.lower > 0);
    }
  });
});

describe("Bayesian chance to beat control", () => {
  it("is ½ for equal arms, rises with the lift, and agrees with the z statistic", () => {
    const rand = rng(3);
    const a = simulateArm(rand, 500, 0.5);
    expect(compareAggregates(a, a).bayesian.chanceToBeatControl).toBeCloseTo(0.5, 12);
    const b = simulateArm(rand, 500, 0.56);
    const c = compareAggregates(a, b);
    expect(c.bayesian.chanceToBeatControl).toBeGreaterThan(0.9);
    expect(c.bayesian.chanceToBeatControl).toBeCloseTo(normalCdf(c.difference / Math.sqrt(c.variance)), 12);
    expect(c.relativeLift).toBeCloseTo(c.difference / c.control.value, 12);
  });

  it("not enough data gives NaN, never a verdict", () => {
    const empty = { users: 0, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
    const c = compareAggregates(empty, empty);
    expect(c.fixedHorizon.pValue).toBeNaN();
    expect(c.sequential.pValue).toBeNaN();
    expect(c.bayesian.chanceToBeatControl).toBeNaN();
  });
});

describe("sample-ratio mismatch (χ², alert at p < 0.001)", () => {
  it("flags a broken split, not a healthy one; respects unequal weights", () => {
    expect(sampleRatioMismatch([5000, 5000], [1, 1]).mismatch).toBe(false);
    const borderline = sampleRatioMismatch([5000, 5300], [1, 1]); // χ² = 8.74, p ≈ 0.0031
    expect(borderline.chiSquare).toBeCloseTo((2 * 150 * 150) / 5150, 10);
    expect(borderline.mismatch).toBe(false);
    expect(sampleRatioMismatch([5000, 5400], [1, 1]).mismatch).toBe(true); // χ² = 15.4, p ≈ 9e-5
    expect(sampleRatioMismatch([9000, 1000], [90, 10]).mismatch).toBe(false);
    expect(sampleRatioMismatch([9000, 1000], [50, 50]).mismatch).toBe(true);
    expect(() => sampleRatioMismatch([1], [1])).toThrow(RangeError);
  });

  it("false alarms on correct random assignment stay near 0.1%", () => {
    const rand = rng(5);
    let alarms = 0;
    const sims = 2000;
    for (let s = 0; s < sims; s++) {
      const counts = [0, 0, 0];
      for (let u = 0; u < 600; u++) {
        const r = rand();
        const k = r < 0.5 ? 0 : r < 0.75 ? 1 : 2;
        counts[k] = (counts[k] ?? 0) + 1;
      }
      if (sampleRatioMismatch(counts, [50, 25, 25]).mismatch) alarms++;
    }
    expect(alarms / sims).toBeLessThan(0.005);
  });
});

// Reference values computed independently with SciPy 1.17.1 (script in the commit message of this test):
// scipy.stats.ttest_ind(equal_var=False) on 0/1 per-user data; the exact Beta–Binomial P(B > A) by numerical
// integration (scipy.integrate.quad) under Beta(1, 1) priors; the mSPRT boundary by integrating the likelihood ratio
// over the N(0, τ²) mixture numerically and solving Λ(Δ) = 1/α with scipy.optimize.brentq (no closed form used).
describe("against independent reference values (SciPy)", () => {
  const arm = (likes: number, users: number): RatioAggregate => ({
    users,
    sumX: likes,
    sumY: users,
    sumX2: likes,
    sumY2: users,
    sumXY: likes,
  });

  it("Welch z-test: 200/1000 vs 250/1000 users liking → z = 2.68087, p = 0.0073432", () => {
    const c = compareAggregates(arm(200, 1000), arm(250, 1000));
    expect(c.difference / Math.sqrt(c.variance)).toBeCloseTo(2.6808674640332786, 9);
    expect(c.fixedHorizon.pValue).toBeCloseTo(0.007343159286898898, 9);
  });

  it("chance to beat control matches the exact Beta–Binomial P(B > A) = 0.99628 within 0.002", () => {
    const c = compareAggregates(arm(200, 1000), arm(250, 1000));
    expect(Math.abs(c.bayesian.chanceToBeatControl - 0.9962833291304395)).toBeLessThan(0.002);
  });

  it("mSPRT: σ² = τ² = 1e-4, α = 0.05 → boundary |Δ| = 0.0365639; Λ(0.03) gives p = 0.149057", () => {
    expect(sequentialTest(0.03656394871363869, 1e-4, 1e-4).pValue).toBeCloseTo(0.05, 9);
    expect(sequentialTest(0.03656394871363869, 1e-4, 1e-4).interval.lower).toBeCloseTo(0, 9);
    expect(sequentialTest(0.03, 1e-4, 1e-4).pValue).toBeCloseTo(0.14905701283899592, 9);
  });
});

// The acceptance simulations use the sequential test as the experiments page does: τ = expected lift (the default
// 10%) × control mean (Johari et al. 2017 §4, 2022 §5). BENCHMARKS.md (bench:experiments) records these figures
// next to the earlier τ (tightest at a planned sample), measured by `pnpm bench experiments`.
const PAGE_DEFAULT = { expectedRelativeEffect: 0.1, plannedUsersPerArm: 100 } as const;

describe("issue 9 acceptance simulations (fixed seeds)", () => {
  it("1,000 A/A experiments with 20 daily peeks: sequential false-positive rate ≤ α", () => {
    const rand = rng(2026);
    const sims = 1000;
    let seqFalse = 0;
    let fixedFalse = 0;
    for (let s = 0; s < sims; s++) {
      let a: RatioAggregate = { users: 0, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
      let b = a;
      let seqHit = false;
      let fixedHit = false;
      for (let day = 0; day < 20; day++) {
        a = add(a, simulateArm(rand, 40, 0.45));
        b = add(b, simulateArm(rand, 40, 0.45));
        const c = compareAggregates(a, b, PAGE_DEFAULT);
        if (c.sequential.pValue < 0.05) seqHit = true;
        if (c.fixedHorizon.pValue < 0.05) fixedHit = true;
      }
      if (seqHit) seqFalse++;
      if (fixedHit) fixedFalse++;
    }
    console.info(
      `A/A, ${sims} experiments × 20 looks: sequential FPR ${(seqFalse / sims).toFixed(3)}, fixed-horizon FPR ${(fixedFalse / sims).toFixed(3)} (α = 0.05)`,
    );
    expect(seqFalse / sims).toBeLessThanOrEqual(0.05);
  });

  it("a true +5-point like-rate difference (45% → 50%) is detected with enough users", () => {
    const rand = rng(55);
    const sims = 50;
    let found = 0;
    for (let s = 0; s < sims; s++) {
      let a: RatioAggregate = { users: 0, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
      let b = a;
      for (let day = 0; day < 20; day++) {
        a = add(a, simulateArm(rand, 200, 0.45));
        b = add(b, simulateArm(rand, 200, 0.5));
        const c = compareAggregates(a, b, PAGE_DEFAULT);
        if (c.sequential.pValue < 0.05) {
          if (c.difference > 0) found++;
          break;
        }
      }
    }
    console.info(`+5 points, 4,000 users per arm: detected by the sequential test in ${found}/${sims}`);
    expect(found / sims).toBeGreaterThanOrEqual(0.8);
  });

  it("τ from the expected lift finds a real effect sooner than τ tuned to a distant planned sample", () => {
    // 40 users per arm per day, +5 points: the expected-lift τ detects it in far more experiments within 20 days.
    const power = (o: Parameters<typeof compareAggregates>[2], seed: number) => {
      const rand = rng(seed);
      let found = 0;
      for (let s = 0; s < 100; s++) {
        let a: RatioAggregate = { users: 0, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
        let b = a;
        for (let day = 0; day < 20; day++) {
          a = add(a, simulateArm(rand, 40, 0.45));
          b = add(b, simulateArm(rand, 40, 0.5));
          if (compareAggregates(a, b, o).sequential.pValue < 0.05) {
            found++;
            break;
          }
        }
      }
      return found / 100;
    };
    const byEffect = power(PAGE_DEFAULT, 77);
    const byPlan = power({ plannedUsersPerArm: 4000 }, 77);
    expect(byEffect).toBeGreaterThan(byPlan + 0.2);
  });

  it("an injected 45/55 split on a 50/50 experiment (4,000 users) trips the SRM alarm", () => {
    const rand = rng(4555);
    const sims = 200;
    let alarms = 0;
    for (let s = 0; s < sims; s++) {
      const counts = [0, 0];
      for (let u = 0; u < 4000; u++) {
        const k = rand() < 0.45 ? 0 : 1;
        counts[k] = (counts[k] ?? 0) + 1;
      }
      if (sampleRatioMismatch(counts, [1, 1]).mismatch) alarms++;
    }
    console.info(`45/55 on 50/50 with 4,000 users: SRM alarm in ${alarms}/${sims}`);
    expect(alarms / sims).toBeGreaterThanOrEqual(0.99);
  });
});
