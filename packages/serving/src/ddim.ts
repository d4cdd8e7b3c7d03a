/**
 * DDIM (Song et al. 2021, "Denoising Diffusion Implicit Models") over the training schedule's ᾱ.
 * With ε = ε_θ(x_t, t):
 *   x̂0     = (x_t − √(1−ᾱ_t)·ε) / √ᾱ_t                      (optionally clipped to [−1, 1])
 *   σ_t    = η · √((1−ᾱ_prev)/(1−ᾱ_t)) · √(1 − ᾱ_t/ᾱ_prev)
 *   x_prev = √ᾱ_prev·x̂0 + √(1−ᾱ_prev−σ_t²)·ε + σ_t·z
 * η = 0 is deterministic DDIM, η = 1 is DDPM-like. After the last step ᾱ_prev = 1, so x_prev = x̂0.
 * When x̂0 is clipped, ε is re-derived from it, ε' = (x_t − √ᾱ_t·x̂0)/√(1−ᾱ_t), so the update stays on one
 * consistent (x̂0, ε) pair (as diffusers' DDIMScheduler does). Without this, at high t — where
 * x̂0 = (x_t − …)/√ᾱ_t amplifies any ε error — the clipped x̂0 and the raw ε disagree and pull samples
 * toward the grey mean.
 */

export const MIN_STEPS = 10;
export const MAX_STEPS = 100;

/**
 * How the S sampling steps are placed on the T training steps.
 * - trailing: t_i = round(T − i·T/S) − 1, starts at T−1 (pure noise; Lin et al. 2024 recommend it).
 * - leading:  t_i = floor((S−1−i)·T/S), the diffusers DDIM default; starts below T−1.
 * - linspace: t_i = round((S−1−i)·(T−1)/(S−1)), both ends included.
 */
export type TimestepSpacing = "trailing" | "leading" | "linspace";

/** Descending integer timesteps for `steps` DDIM steps over a `trainSteps`-step schedule. */
export function ddimTimesteps(
  trainSteps: number,
  steps: number,
  spacing: TimestepSpacing = "trailing",
): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > trainSteps)
    throw new RangeError(`steps must be an integer in [1, ${trainSteps}], got ${steps}`);
  const ts: number[] = [];
  for (let i = 0; i < steps; i++) {
    let t: number;
    if (spacing === "trailing") t = Math.round(trainSteps - (i * trainSteps) / steps) - 1;
    else if (spacing === "leading") t = Math.floor(((steps - 1 - i) * trainSteps) / steps);
    else t = steps === 1 ? trainSteps - 1 : Math.round(((steps - 1 - i) * (trainSteps - 1)) / (steps - 1));
    ts.push(t);
  }
  for (let i = 1; i < ts.length; i++) {
    if (!((ts[i] ?? 0) < (ts[i - 1] ?? 0)))
      throw new Error(`internal: timesteps not strictly decreasing (${ts.join(",")})`);
  }
  return ts;
}

/** Per-step scalars of the update above, computed once per sampling call in float64. */
export type DdimCoefficients = {
  t: number;
  /** √ᾱ_t, √(1−ᾱ_t) */
  sqrtAlpha: number;
  sqrtOneMinusAlpha: number;
  /** √ᾱ_prev, √(1−ᾱ_prev−σ²), σ */
  sqrtAlphaPrev: number;
  dirCoef: number;
  sigma: number;
};

/** ᾱ (length T) + descending timesteps + η → per-step coefficients. */
export function ddimCoefficients(
  alphasCumprod: ArrayLike<number>,
  timesteps: readonly number[],
  eta: number,
): DdimCoefficients[] {
  return timesteps.map((t, i) => {
    const a = alphasCumprod[t];
    if (a === undefined)
      throw new RangeError(`timestep ${t} outside the schedule (T = ${alphasCumprod.length})`);
    const next = timesteps[i + 1];
    const aPrev = next === undefined ? 1 : (alphasCumprod[next] ?? 1);
    const sigma = eta * Math.sqrt((1 - aPrev) / (1 - a)) * Math.sqrt(Math.max(0, 1 - a / aPrev));
    return {
      t,
      sqrtAlpha: Math.sqrt(a),
      sqrtOneMinusAlpha: Math.sqrt(1 - a),
      sqrtAlphaPrev: Math.sqrt(aPrev),
      // max(0, …) guards rounding when η = 1 makes 1 − ᾱ_prev − σ² ≈ 0.
      dirCoef: Math.sqrt(Math.max(0, 1 - aPrev - sigma * sigma)),
      sigma,
    };
  });
}

/**
 * One DDIM update in place: x [n] ← x_prev, given ε [n] and (when σ > 0) noise z [n].
 * `clipDenoised` clamps x̂0 to the pixel range [−1, 1] before re-noising.
 */
export function ddimStep(
  x: Float32Array,
  eps: Float32Array,
  c: DdimCoefficients,
  clipDenoised: boolean,
  noise?: Float32Array,
): void {
  const { sqrtAlpha, sqrtOneMinusAlpha, sqrtAlphaPrev, dirCoef, sigma } = c;
  const inv = 1 / sqrtAlpha;
  if (sigma > 0 && (!noise || noise.length < x.length))
    throw new Error("ddimStep: η > 0 needs a noise buffer as long as x");
  for (let i = 0; i < x.length; i++) {
    const e = eps[i] ?? 0;
    let x0 = ((x[i] ?? 0) - sqrtOneMinusAlpha * e) * inv;
    let dir = e;
    if (clipDenoised && (x0 < -1 || x0 > 1)) {
      x0 = x0 < -1 ? -1 : 1;
      dir = ((x[i] ?? 0) - sqrtAlpha * x0) / sqrtOneMinusAlpha;
    }
    let v = sqrtAlphaPrev * x0 + dirCoef * dir;
    if (sigma > 0) v += sigma * (noise?.[i] ?? 0);
    x[i] = v;
  }
}
