/**
 * Diffusion-KTO's "positive ratio" sampling (Li et al. 2024 §4.2; code `make_weights_for_balanced_classes`
 * + `WeightedRandomSampler`, with replacement): each draw is desirable with probability γ whatever the
 * class balance of the data, then uniform within its class. Same distribution as the code's per-item
 * weights N/count[class]·(γ or 1 − γ). Draw p comes from its own stream splitSeed(seed, stream, p), so
 * the sampler is addressable like the training loop's DataOrder (`at(p)`): resumable, split-invariant.
 */
import { KtoError } from "../errors";
import { createRng } from "../rng";
import { DEFAULT_POSITIVE_RATIO } from "./options";

const SAMPLER_STREAM = 0x9a77;

export class PositiveRatioSampler {
  private readonly desirable: Int32Array;
  private readonly undesirable: Int32Array;

  /**
   * labels [n]: +1 desirable / −1 undesirable (0/1 accepted too: > 0 is desirable); γ ∈ [0, 1].
   * When one class is empty every draw comes from the other (as the code's sampler); both empty throws.
   */
  constructor(
    labels: ArrayLike<number>,
    readonly gamma: number = DEFAULT_POSITIVE_RATIO,
    private readonly seed = 0,
  ) {
    if (!(gamma >= 0 && gamma <= 1))
      throw new KtoError("INVALID_OBJECTIVE", `positive ratio γ must be in [0, 1] (got ${gamma})`);
    const d: number[] = [];
    const u: number[] = [];
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i] ?? Number.NaN;
      if (!Number.isFinite(y)) throw new KtoError("INVALID_OBJECTIVE", `label ${i} is ${y}`);
      (y > 0 ? d : u).push(i);
    }
    if (d.length + u.length === 0)
      throw new KtoError(
        "INVALID_OBJECTIVE",
        "the positive-ratio sampler needs at least one labelled example",
      );
    this.desirable = Int32Array.from(d);
    this.undesirable = Int32Array.from(u);
  }

  /** Example index of draw p (p = step·batchSize + slot). */
  at(p: number): number {
    const rng = createRng(this.seed, SAMPLER_STREAM, p);
    const wantDesirable = rng.uniform() < this.gamma;
    const pool =
      (wantDesirable && this.desirable.length > 0) || this.undesirable.length === 0
        ? this.desirable
        : this.undesirable;
    return pool[rng.int(pool.length)] ?? 0;
  }

  /** Draws from..from+count−1 → example indices int32 [count]. */
  sample(count: number, from = 0): Int32Array {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.at(from + i);
    return out;
  }
}
