// Means with 95% intervals for the alignment benchmark. The unit of analysis is one (held-out prompt, evaluation
// seed) cell: its images share a prompt and are drawn from consecutive sampler seeds, so cells are independent while
// images within a cell are not. Comparisons between two models are paired on cells (same prompt, same noise).

/** Two-sided 97.5% quantiles of Student's t for df = 1…30; beyond, the normal 1.96 is within 2%. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function tQuantile975(df: number): number {
  if (!(df >= 1)) throw new RangeError(`t quantile needs df ≥ 1, got ${df}`);
  return T975[Math.floor(df) - 1] ?? 1.96;
}

/** Mean ± half-width of a 95% t interval (half = NaN for a single value). */
export type Interval = { mean: number; half: number; n: number };

export function meanInterval(xs: readonly number[]): Interval {
  const n = xs.length;
  if (n === 0) throw new RangeError("mean of an empty sample");
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, half: Number.NaN, n };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { mean, half: tQuantile975(n - 1) * Math.sqrt(variance / n), n };
}

/** Paired differences a[i] − b[i] → mean ± 95% interval. */
export function pairedDifference(a: readonly number[], b: readonly number[]): Interval {
  if (a.length !== b.length)
    throw new RangeError(`paired samples differ in length: ${a.length} vs ${b.length}`);
  return meanInterval(a.map((x, i) => x - (b[i] as number)));
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of an empty sample");
  const s = [...xs].sort((p, q) => p - q);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * The paper's per-prompt comparison: each model's image of median score (the lower middle one for an even count,
 * so it is an actual image) against the other's; 1 = A's is better, ½ = tie, 0 = B's.
 */
export function medianImageIndex(scores: readonly number[]): number {
  if (scores.length === 0) throw new RangeError("no images");
  const order = scores.map((s, i) => [s, i] as const).sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  return (order[(order.length - 1) >> 1] as readonly [number, number])[1];
}

export function winOf(a: number, b: number): number {
  return a > b ? 1 : a < b ? 0 : 0.5;
}

export const fmtInterval = (i: Interval, scale = 1, digits = 1): string =>
  Number.isNaN(i.half)
    ? (i.mean * scale).toFixed(digits)
    : `${(i.mean * scale).toFixed(digits)} ± ${(i.half * scale).toFixed(digits)}`;

/**
 * Expected maximum of `n` values drawn without replacement from `values` (every n-subset equally likely): the i-th
 * smallest (1-based) is the maximum of C(i−1, n−1) of the C(m, n) subsets. Exact, no sampling.
 */
export function expectedBestOf(values: readonly number[], n: number): number {
  const m = values.length;
  if (!(Number.isInteger(n) && n >= 1 && n <= m))
    throw new RangeError(`best-of-n needs 1 ≤ n ≤ ${m} (the values given), got ${n}`);
  const s = [...values].sort((p, q) => p - q);
  // C(i−1, n−1) / C(m, n) built as a running ratio from i = n (where it is 1 / C(m, n)) to stay finite for large m.
  let logChooseMN = 0;
  for (let k = 1; k <= n; k++) logChooseMN += Math.log((m - n + k) / k);
  let w = Math.exp(-logChooseMN); // i = n: C(n−1, n−1) = 1
  let total = 0;
  for (let i = n; i <= m; i++) {
    total += w * (s[i - 1] as number);
    w *= i / (i - n + 1); // C(i, n−1) / C(i−1, n−1)
  }
  return total;
}

/** KL(best-of-n ‖ base) for a continuous score: log n − (n − 1)/n nats (Stiennon et al. 2020, App. G; Beirami et al.
 * 2024 show it is an upper bound in general). */
export const bestOfKl = (n: number): number => Math.log(n) - (n - 1) / n;
