/**
 * DDPM noise schedules over T = 1000 steps (Ho et al. 2020): linear β from 1e-4 to 0.02, and the
 * cosine schedule of Nichol & Dhariwal 2021 (ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T + s)/(1 + s))·π/2),
 * s = 0.008, β clipped at 0.999). Plain Float32Array, no tfjs: exported as the tfjs-free subpath
 * `@likewise/kto/schedule` so samplers and the web app can use it.
 */

export const NUM_TRAIN_TIMESTEPS = 1000;

export const BETA_SCHEDULES = ["linear", "cosine"] as const;
export type BetaScheduleKind = (typeof BETA_SCHEDULES)[number];

/** The JSON description stored in manifest.json; `createSchedule(spec)` rebuilds the arrays exactly. */
export type ScheduleSpec = {
  readonly kind: BetaScheduleKind;
  readonly steps: number;
  /** Linear schedule only: β₁ and β_T. */
  readonly betaStart?: number;
  readonly betaEnd?: number;
};

export type NoiseSchedule = {
  readonly spec: ScheduleSpec;
  /** β_t, t = 0…T−1 (float32 [T]). */
  readonly betas: Float32Array;
  /** α_t = 1 − β_t (float32 [T]). */
  readonly alphas: Float32Array;
  /** ᾱ_t = ∏_{s≤t} α_s (float32 [T]); x_t = sqrt(ᾱ_t)·x₀ + sqrt(1 − ᾱ_t)·ε. */
  readonly alphasCumprod: Float32Array;
};

export const DEFAULT_SCHEDULE: ScheduleSpec = {
  kind: "linear",
  steps: NUM_TRAIN_TIMESTEPS,
  betaStart: 1e-4,
  betaEnd: 0.02,
};

/** spec → betas, alphas and ᾱ (computed in float64, stored float32). Throws on a malformed spec. */
export function createSchedule(spec: ScheduleSpec = DEFAULT_SCHEDULE): NoiseSchedule {
  const T = spec.steps;
  if (!Number.isInteger(T) || T < 2) throw new Error(`schedule steps must be an integer ≥ 2, got ${T}`);
  const betas64 = new Float64Array(T);
  if (spec.kind === "linear") {
    const b0 = spec.betaStart ?? 1e-4;
    const b1 = spec.betaEnd ?? 0.02;
    if (!(b0 > 0 && b1 < 1 && b0 <= b1)) throw new Error(`linear schedule needs 0 < betaStart ≤ betaEnd < 1`);
    for (let i = 0; i < T; i++) betas64[i] = b0 + ((b1 - b0) * i) / (T - 1);
  } else if (spec.kind === "cosine") {
    const s = 0.008;
    const f = (t: number): number => Math.cos(((t / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    for (let i = 0; i < T; i++) betas64[i] = Math.min(1 - f(i + 1) / f(i), 0.999);
  } else {
    throw new Error(`unknown beta schedule ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
  const betas = new Float32Array(T);
  const alphas = new Float32Array(T);
  const alphasCumprod = new Float32Array(T);
  let prod = 1;
  for (let i = 0; i < T; i++) {
    const b = betas64[i] ?? 0;
    prod *= 1 - b;
    betas[i] = b;
    alphas[i] = 1 - b;
    alphasCumprod[i] = prod;
  }
  return { spec, betas, alphas, alphasCumprod };
}
