/* eslint-disable no-loss-of-precision -- Cody, Wichura and Lanczos coefficients are kept digit for digit as published. */
/**
 * Experiment statistics for comparing model versions on real users (issue 9). Pure functions over
 * per-variant *per-user* aggregates — users, not images, are the randomisation unit, so every ratio
 * metric (like rate per vote, likes per exposure) gets its variance from the delta method over users
 * (Deng et al. 2018, "Applying the Delta Method in Metric Analytics"), never from a binomial over votes.
 *
 * - Fixed-horizon test: two-sided Welch z-test on the difference, CI for absolute and relative lift.
 *   Valid only when looked at once, at the planned sample size.
 * - Always-valid sequential test: the mixture sequential probability ratio test with a normal mixing
 *   distribution (Robbins 1970; Johari et al. 2017, "Peeking at A/B Tests"; the form GrowthBook and
 *   Optimizely use). Λ = √(σ²/(σ²+τ²))·exp(τ²·Δ̂²/(2σ²(σ²+τ²))); p = min(1, 1/Λ) at every look and the
 *   matching confidence sequence, so checking the dashboard daily does not inflate false positives
 *   (Ville's inequality). τ² is the squared effect size we expect to find (Johari, Pekelis & Walsh 2017 §4;
 *   Johari, Koomen, Pekelis & Walsh 2022, Operations Research 70(3), "Always Valid Inference" §5: the mixing
 *   distribution should match the distribution of effects, which minimises the expected time to detect them):
 *   τ = (expected relative lift) × |control mean|; without one, tightest at a planned sample size.
 * - Bayesian: chance to beat control and a credible interval under a flat prior with the same normal
 *   approximation (the posterior of the difference is N(Δ̂, σ²)).
 * - Sample-ratio mismatch: Pearson χ² of assigned users against the configured weights; p < 0.001 is red
 *   and blocks any decision.
 */

/** Per-user sums of one variant for a ratio metric Σx/Σy (x: e.g. likes, y: e.g. votes), over its users. */
export type RatioAggregate = {
  /** Users in the variant (including users with y = 0). */
  readonly users: number;
  readonly sumX: number;
  readonly sumY: number;
  readonly sumX2: number;
  readonly sumY2: number;
  readonly sumXY: number;
};

/** A metric estimate: value and the variance of that estimate. */
export type Estimate = { readonly value: number; readonly variance: number };

/** Σx/Σy with its delta-method variance over users; NaN value when Σy = 0. */
export function ratioEstimate(a: RatioAggregate): Estimate {
  const n = a.users;
  if (n < 2 || a.sumY <= 0) return { value: Number.NaN, variance: Number.NaN };
  const mx = a.sumX / n;
  const my = a.sumY / n;
  const r = mx / my;
  // Sample (co)variances of the per-user x and y.
  const vx = (a.sumX2 - n * mx * mx) / (n - 1);
  const vy = (a.sumY2 - n * my * my) / (n - 1);
  const cxy = (a.sumXY - n * mx * my) / (n - 1);
  const variance = Math.max(0, (vx - 2 * r * cxy + r * r * vy) / (n * my * my));
  return { value: r, variance };
}

/** A per-user mean metric (e.g. votes per user) as a ratio with y = 1 per user. */
export function meanAggregate(users: number, sum: number, sumSquares: number): RatioAggregate {
  return { users, sumX: sum, sumY: users, sumX2: sumSquares, sumY2: users, sumXY: sum };
}

// ---------------------------------------------------------------- distributions

/** Standard normal CDF Φ(x), via erfc (W. J. Cody's 1969 rational approximations; relative error < 1e-14). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** erfc(x) by Cody's three rational approximations (|x| < 0.5, < 4, ≥ 4). */
function erfc(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 0.5) {
    r = 1 - erfSmall(ax);
  } else if (ax < 4) {
    const p = [
      3.004592610201616e2, 4.519189537118729e2, 3.393208167343437e2, 1.529892850469404e2, 4.316222722205674e1,
      7.211758250883094, 5.64195517478974e-1, -1.368648573827167e-7,
    ];
    const q = [
      3.004592609569833e2, 7.90950925327898e2, 9.313540948506096e2, 6.389802644656312e2, 2.775854447439876e2,
      7.700015293522947e1, 1.278272731962942e1, 1,
    ];
    let num = 0;
    let den = 0;
    for (let i = p.length - 1; i >= 0; i--) {
      num = num * ax + (p[i] ?? 0);
      den = den * ax + (q[i] ?? 0);
    }
    r = Math.exp(-ax * ax) * (num / den);
  } else {
    const p = [
      -2.99610707703542174e-3, -4.94730910623250734e-2, -2.2695659353968693e-1, -2.78661308609647788e-1,
      -2.23192459734184686e-2,
    ];
    const q = [1.06209230528467918e-2, 1.91308926107829841e-1, 1.05167510706793207, 1.98733201817135256, 1];
    const z = 1 / (ax * ax);
    let num = 0;
    let den = 0;
    for (let i = p.length - 1; i >= 0; i--) {
      num = num * z + (p[i] ?? 0);
      den = den * z + (q[i] ?? 0);
    }
    r = (Math.exp(-ax * ax) / ax) * (1 / Math.sqrt(Math.PI) + (z * num) / den);
  }
  return x < 0 ? 2 - r : r;
}

function erfSmall(x: number): number {
  const p = [
    3.1611237438705656, 1.13864154151050156e2, 3.77485237685302021e2, 3.20937758913846947e3,
    1.85777706184603153e-1,
  ];
  const q = [2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3];
  const t = x * x;
  let num = (p[4] ?? 0) * t;
  let den = t;
  for (let i = 0; i < 3; i++) {
    num = (num + (p[i] ?? 0)) * t;
    den = (den + (q[i] ?? 0)) * t;
  }
  return (x * (num + (p[3] ?? 0))) / (den + (q[3] ?? 0));
}

/** Φ⁻¹(p) (Wichura 1988, AS 241 PPND16; relative error ~1e-16). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return Number.NEGATIVE_INFINITY;
    if (p === 1) return Number.POSITIVE_INFINITY;
    return Number.NaN;
  }
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r +
          45921.953931549871457) *
          r +
          13731.693765509461125) *
          r +
          1971.5909503065514427) *
          r +
          133.14166789178437745) *
          r +
          3.387132872796366608)) /
      (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r +
        21213.794301586595867) *
        r +
        5394.1960214247511077) *
        r +
        687.1870074920579083) *
        r +
        42.313330701600911252) *
        r +
        1)
    );
  }
  let r = q < 0 ? p : 1 - p;
  r = Math.sqrt(-Math.log(r));
  let x: number;
  if (r <= 5) {
    r -= 1.6;
    x =
      (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
        1.27045825245236838258) *
        r +
        3.64784832476320460504) *
        r +
        5.7694972214606914055) *
        r +
        4.6303378461565452959) *
        r +
        1.42343711074968357734) /
      (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r +
        0.14810397642748007459) *
        r +
        0.68976733498510000455) *
        r +
        1.6763848301838038494) *
        r +
        2.05319162663775882187) *
        r +
        1);
  } else {
    r -= 5;
    x =
      (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
        0.026532189526576123093) *
        r +
        0.29656057182850489123) *
        r +
        1.7848265399172913358) *
        r +
        5.4637849111641143699) *
        r +
        6.6579046435011037772) /
      (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
        7.868691311456132591e-4) *
        r +
        0.0148753612908506148525) *
        r +
        0.13692988092273580531) *
        r +
        0.59983220655588793769) *
        r +
        1);
  }
  return q < 0 ? -x : x;
}

/** Regularised upper incomplete gamma Q(a, x) (Numerical Recipes gser/gcf). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnGammaA = logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let del = sum;
    let ap = a;
    for (let n = 0; n < 1000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lnGammaA);
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGammaA) * h;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const xx = x - 1;
  let a = c[0] ?? 0;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] ?? 0) / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Upper tail P(χ²_df ≥ x). */
export function chiSquareSf(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

// ---------------------------------------------------------------- tests

export type Interval = { readonly lower: number; readonly upper: number };

export type Comparison = {
  readonly control: Estimate;
  readonly treatment: Estimate;
  /** treatment − control. */
  readonly difference: number;
  /** Variance of the difference (independent arms). */
  readonly variance: number;
  /** (treatment − control)/control, with its delta-method CI. */
  readonly relativeLift: number;
  readonly fixedHorizon: {
    readonly pValue: number;
    readonly interval: Interval;
    readonly relativeInterval: Interval;
  };
  readonly sequential: { readonly pValue: number; readonly interval: Interval; readonly tau2: number };
  readonly bayesian: { readonly chanceToBeatControl: number; readonly credibleInterval: Interval };
};

export type CompareOptions = {
  /** Significance level (default 0.05). */
  readonly alpha?: number;
  /**
   * Users per arm at which the sequential confidence sequence should be tightest (default 1,000): usually
   * the experiment's minimum sample. Any positive value keeps the test valid; it only shapes its power.
   */
  readonly plannedUsersPerArm?: number;
  /** Mixing variance τ² of the sequential test (compareAggregates derives it, see below). */
  readonly tau2?: number;
  /**
   * The relative lift the experiment is looking for (e.g. 0.1 = +10% of control): compareAggregates sets
   * τ = this × |control mean|, the principled choice (mixture ≈ effect distribution). Takes precedence over
   * plannedUsersPerArm when control's mean is a usable non-zero number.
   */
  readonly expectedRelativeEffect?: number;
};

const NAN_INTERVAL: Interval = { lower: Number.NaN, upper: Number.NaN };

/**
 * Compares a treatment with the control on one metric. Requires finite estimates with positive variance;
 * otherwise every statistic is NaN (the caller shows "not enough data").
 */
export function compare(control: Estimate, treatment: Estimate, o: CompareOptions = {}): Comparison {
  const alpha = o.alpha ?? 0.05;
  const diff = treatment.value - control.value;
  const v = control.variance + treatment.variance;
  const relativeLift = diff / control.value;
  const usable = Number.isFinite(diff) && Number.isFinite(v) && v > 0;
  if (!usable) {
    return {
      control,
      treatment,
      difference: diff,
      variance: v,
      relativeLift,
      fixedHorizon: { pValue: Number.NaN, interval: NAN_INTERVAL, relativeInterval: NAN_INTERVAL },
      sequential: { pValue: Number.NaN, interval: NAN_INTERVAL, tau2: Number.NaN },
      bayesian: { chanceToBeatControl: Number.NaN, credibleInterval: NAN_INTERVAL },
    };
  }
  const sd = Math.sqrt(v);
  const zc = normalQuantile(1 - alpha / 2);
  const z = diff / sd;
  const pFixed = 2 * normalCdf(-Math.abs(z));
  // Relative lift r = T/C − 1, Var ≈ (Var T + r'² Var C)/C² with r' = T/C (delta method).
  const ratio = treatment.value / control.value;
  const relSd = Math.sqrt(
    (treatment.variance + ratio * ratio * control.variance) / (control.value * control.value),
  );

  // mSPRT mixing variance: given, or (without user counts) the current variance of the difference.
  const seq = sequentialTest(diff, v, o.tau2 ?? v, alpha);

  return {
    control,
    treatment,
    difference: diff,
    variance: v,
    relativeLift,
    fixedHorizon: {
      pValue: pFixed,
      interval: { lower: diff - zc * sd, upper: diff + zc * sd },
      relativeInterval: { lower: relativeLift - zc * relSd, upper: relativeLift + zc * relSd },
    },
    sequential: seq,
    bayesian: {
      chanceToBeatControl: normalCdf(z),
      credibleInterval: { lower: diff - zc * sd, upper: diff + zc * sd },
    },
  };
}

/**
 * The normal-mixture SPRT for an estimate Δ̂ ~ N(θ, σ²) with mixing prior θ ~ N(0, τ²):
 * Λ = √(σ²/(σ²+τ²))·exp(τ²Δ̂²/(2σ²(σ²+τ²))); always-valid p = min(1, 1/Λ); the confidence sequence is
 * {θ : Λ(θ) < 1/α}, i.e. Δ̂ ± √(2σ²(σ²+τ²)/τ² · ln(√((σ²+τ²)/σ²)/α)).
 */
export function sequentialTest(
  diff: number,
  sigma2: number,
  tau2: number,
  alpha = 0.05,
): { pValue: number; interval: Interval; tau2: number } {
  const s = sigma2 + tau2;
  const logLambda = 0.5 * Math.log(sigma2 / s) + (tau2 * diff * diff) / (2 * sigma2 * s);
  const pValue = Math.min(1, Math.exp(-logLambda));
  const half = Math.sqrt(((2 * sigma2 * s) / tau2) * Math.log(Math.sqrt(s / sigma2) / alpha));
  return { pValue, interval: { lower: diff - half, upper: diff + half }, tau2 };
}

/**
 * `compare` from per-user aggregates (the normal entry): the delta-method estimates of both arms, and a
 * mixing variance τ² = (expectedRelativeEffect × control mean)² when an expected effect is given, else the
 * variance the difference would have with `plannedUsersPerArm` users per arm (tightest there).
 */
export function compareAggregates(
  control: RatioAggregate,
  treatment: RatioAggregate,
  o: CompareOptions = {},
): Comparison {
  const c = ratioEstimate(control);
  const t = ratioEstimate(treatment);
  const planned = o.plannedUsersPerArm ?? 1000;
  if (!(planned >= 1)) throw new RangeError("plannedUsersPerArm must be ≥ 1");
  const rho = o.expectedRelativeEffect;
  if (rho !== undefined && !(rho > 0)) throw new RangeError("expectedRelativeEffect must be > 0");
  const byEffect = rho === undefined ? Number.NaN : (rho * c.value) ** 2;
  // Per-user variances (σ²·n) of each arm, scaled to the planned size.
  const byPlan = (c.variance * control.users + t.variance * treatment.users) / planned;
  const tau2 = Number.isFinite(byEffect) && byEffect > 0 ? byEffect : byPlan;
  return compare(c, t, { ...o, ...(Number.isFinite(tau2) && tau2 > 0 ? { tau2 } : {}) });
}

// ---------------------------------------------------------------- sample-ratio mismatch

export type SampleRatioCheck = {
  readonly chiSquare: number;
  readonly pValue: number;
  /** p < threshold (default 0.001): the assignment is broken and no decision may be taken. */
  readonly mismatch: boolean;
  readonly expected: readonly number[];
};

/** Pearson χ² of observed user counts per variant against traffic weights (any positive scale). */
export function sampleRatioMismatch(
  observed: readonly number[],
  weights: readonly number[],
  threshold = 0.001,
): SampleRatioCheck {
  if (observed.length !== weights.length || observed.length < 2)
    throw new RangeError("observed counts and weights must have the same length ≥ 2");
  const total = observed.reduce((a, b) => a + b, 0);
  const wsum = weights.reduce((a, b) => a + b, 0);
  if (!(wsum > 0) || weights.some((w) => !(w >= 0)))
    throw new RangeError("weights must be non-negative with a positive sum");
  const expected = weights.map((w) => (total * w) / wsum);
  let chi = 0;
  let df = -1;
  expected.forEach((e, i) => {
    if (e <= 0) return;
    const d = (observed[i] ?? 0) - e;
    chi += (d * d) / e;
    df++;
  });
  if (total === 0 || df < 1) return { chiSquare: 0, pValue: 1, mismatch: false, expected };
  const pValue = chiSquareSf(chi, df);
  return { chiSquare: chi, pValue, mismatch: pValue < threshold, expected };
}
