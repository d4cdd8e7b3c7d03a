/**
 * The forward (noising) process q(x_t | x₀) = N(sqrt(ᾱ_t)·x₀, (1 − ᾱ_t)·I) of DDPM (Ho et al. 2020),
 * on plain Float32Arrays so batches are prepared deterministically outside tfjs.
 */

/**
 * x0, eps: float32 [B·P] (P values per image), t: int [B] → x_t float32 [B·P],
 * x_t = sqrt(ᾱ_t)·x₀ + sqrt(1 − ᾱ_t)·ε.
 */
export function addNoise(
  x0: Float32Array,
  eps: Float32Array,
  t: Int32Array | readonly number[],
  alphasCumprod: Float32Array,
): Float32Array {
  const B = t.length;
  if (x0.length !== eps.length || x0.length % B !== 0) throw new Error("addNoise: x0/eps/t sizes disagree");
  const P = x0.length / B;
  const out = new Float32Array(x0.length);
  for (let b = 0; b < B; b++) {
    const ab = alphasCumprod[t[b] ?? -1];
    if (ab === undefined) throw new Error(`addNoise: timestep ${t[b]} outside the schedule`);
    const sa = Math.sqrt(ab);
    const sn = Math.sqrt(1 - ab);
    for (let i = b * P; i < (b + 1) * P; i++) out[i] = sa * (x0[i] ?? 0) + sn * (eps[i] ?? 0);
  }
  return out;
}
