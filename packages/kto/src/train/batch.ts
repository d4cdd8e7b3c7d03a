/**
 * Training data and the DDPM training batch (Ho et al. 2020, Algorithm 1): a seeded epoch order
 * over the set, t ~ U{0…T−1}, ε ~ N(0, I), x_t = sqrt(ᾱ_t)·x₀ + sqrt(1 − ᾱ_t)·ε, and prompt
 * dropout (the prompt replaced by all pads with probability p) for classifier-free guidance
 * (Ho & Salimans 2022). Every example's randomness comes from its own stream
 * splitSeed(seed, step, slot), so how a step is split across micro-batches or workers never
 * changes what it trains on.
 */
import { type ModelConfig } from "../model/config";
import { addNoise } from "../noise";
import { createRng } from "../rng";
import { type NoiseSchedule } from "../schedule";

/** An in-memory training set. */
export type TrainingSet = {
  readonly size: number;
  /** Token ids int32 [n·L] (shape [n, L]), from the tokenizer. */
  readonly tokens: Int32Array;
  /** Clean images float32 [n·H·W·3] (shape [n, H, W, 3], NHWC), pixels in [−1, 1]. */
  readonly images: Float32Array;
  /** Optional per-example labels [n] passed to the objective (e.g. +1 / −1 for KTO). */
  readonly labels?: Float32Array;
};

/** One micro-batch, ready for a gradient engine (plain arrays, transferable to workers). */
export type MicroBatch = {
  readonly size: number;
  /** int32 [B·L] */
  readonly tokens: Int32Array;
  /** x_t float32 [B·H·W·3] */
  readonly xt: Float32Array;
  /** ε float32 [B·H·W·3] */
  readonly eps: Float32Array;
  /** t as float32 [B] */
  readonly t: Float32Array;
  readonly labels?: Float32Array;
  /** ε_ref float32 [B·H·W·3] from a reference predictor (e.g. ONNX Runtime), when the objective needs one. */
  readonly epsRef?: Float32Array;
  /** Per-sample loss weights float32 [B] (from a `LossWeighting`), applied by the "mse" objective. */
  readonly sampleWeights?: Float32Array;
};

/**
 * Per-sample weighting of the denoising loss by timestep. "v": w(t) = min(1/ᾱ_t, max), which turns the ε-MSE
 * into the v-prediction loss (Salimans & Ho 2022: ‖v − v̂‖² = ‖ε − ε̂‖²/ᾱ_t) truncated at `max`, so the
 * low-SNR steps, where the prompt has to decide the image, carry weight; normalised to mean 1 over t ~ U{0…T−1}
 * so the loss stays on the ε-MSE scale. Plain ε-MSE (Ho et al. 2020's L_simple) when absent.
 */
export type LossWeighting = { readonly kind: "v"; readonly max: number };

/** w(t) for t = 0…T−1 under `weighting` (mean 1), or undefined for unweighted. */
export function lossWeightTable(
  weighting: LossWeighting | undefined,
  schedule: NoiseSchedule,
): Float32Array | undefined {
  if (!weighting) return undefined;
  const w = Float64Array.from(schedule.alphasCumprod, (a) => Math.min(1 / a, weighting.max));
  const mean = w.reduce((s, v) => s + v, 0) / w.length;
  return Float32Array.from(w, (v) => v / mean);
}

const ORDER_STREAM = 0x0d3e;
const NOISE_STREAM = 0x7015;

/** Seeded epoch-by-epoch shuffled order over a set of `size` examples. */
export class DataOrder {
  private cache = new Map<number, Int32Array>();
  constructor(
    private readonly size: number,
    private readonly seed: number,
  ) {
    if (size < 1) throw new Error("training set is empty");
  }
  /** Example index at global position p (p = step·batchSize + slot). */
  at(p: number): number {
    const epoch = Math.floor(p / this.size);
    let perm = this.cache.get(epoch);
    if (!perm) {
      perm = createRng(this.seed, ORDER_STREAM, epoch).permutation(this.size);
      if (this.cache.size > 2) this.cache.clear();
      this.cache.set(epoch, perm);
    }
    return perm[p % this.size] ?? 0;
  }
}

/**
 * Builds slots [from, to) of step `step` (0-based): tokens (with prompt dropout), t, ε, x_t.
 */
export function makeMicroBatch(
  set: TrainingSet,
  cfg: ModelConfig,
  schedule: NoiseSchedule,
  o: {
    seed: number;
    step: number;
    batchSize: number;
    from: number;
    to: number;
    promptDropout: number;
    order: Pick<DataOrder, "at">;
    weights?: Float32Array;
  },
): MicroBatch {
  const B = o.to - o.from;
  const L = cfg.text.contextLength;
  const P = cfg.imageSize * cfg.imageSize * 3;
  const T = schedule.alphasCumprod.length;
  const tokens = new Int32Array(B * L);
  const x0 = new Float32Array(B * P);
  const eps = new Float32Array(B * P);
  const tInt = new Int32Array(B);
  const labels = set.labels ? new Float32Array(B) : undefined;
  const noise = new Float32Array(P);
  for (let i = 0; i < B; i++) {
    const slot = o.from + i;
    const ex = o.order.at(o.step * o.batchSize + slot);
    const rng = createRng(o.seed, NOISE_STREAM, o.step, slot);
    tInt[i] = rng.int(T);
    const drop = rng.uniform() < o.promptDropout;
    if (!drop) tokens.set(set.tokens.subarray(ex * L, (ex + 1) * L), i * L); // dropped = all pads (0)
    x0.set(set.images.subarray(ex * P, (ex + 1) * P), i * P);
    eps.set(rng.fillNormal(noise), i * P);
    if (labels && set.labels) labels[i] = set.labels[ex] ?? 0;
  }
  const xt = addNoise(x0, eps, tInt, schedule.alphasCumprod);
  const table = o.weights;
  const sampleWeights = table ? Float32Array.from(tInt, (t) => table[t] ?? 1) : undefined;
  return {
    size: B,
    tokens,
    xt,
    eps,
    t: Float32Array.from(tInt),
    ...(labels ? { labels } : {}),
    ...(sampleWeights ? { sampleWeights } : {}),
  };
}

/** Checks a training set against the model config; throws a descriptive Error. */
export function checkTrainingSet(set: TrainingSet, cfg: ModelConfig): void {
  const L = cfg.text.contextLength;
  const P = cfg.imageSize * cfg.imageSize * 3;
  if (!Number.isInteger(set.size) || set.size < 1) throw new Error("training set is empty");
  if (set.tokens.length !== set.size * L)
    throw new Error(`training set tokens: expected ${set.size}×${L} ids, got ${set.tokens.length}`);
  if (set.images.length !== set.size * P)
    throw new Error(
      `training set images: expected ${set.size}×${cfg.imageSize}×${cfg.imageSize}×3 values, got ${set.images.length}`,
    );
  if (set.labels && set.labels.length !== set.size)
    throw new Error(`training set labels: expected ${set.size}, got ${set.labels.length}`);
  for (const id of set.tokens)
    if (id < 0 || id >= cfg.text.vocabSize)
      throw new Error(`token id ${id} outside the vocabulary of ${cfg.text.vocabSize}`);
}

/** A DPO training pair: example indices of the liked (winner) and disliked (loser) image of one prompt. */
export type TrainingPair = { readonly winner: number; readonly loser: number };

/**
 * Diffusion-DPO micro-batch (Wallace et al. 2023; code `timesteps.chunk(2)[0].repeat(2)`): pair slots
 * [from, to) of step `step` laid out as [winners…, losers…], pair i at rows i and P + i sharing t, ε and
 * the prompt (the winner's tokens; dropped together). Labels +1 then −1. Each pair slot's randomness
 * comes from splitSeed(seed, step, slot), so sharding on pair boundaries never changes the data.
 */
export function makePairMicroBatch(
  set: TrainingSet,
  pairs: readonly TrainingPair[],
  cfg: ModelConfig,
  schedule: NoiseSchedule,
  o: {
    seed: number;
    step: number;
    pairsPerStep: number;
    from: number;
    to: number;
    promptDropout: number;
    order: Pick<DataOrder, "at">;
  },
): MicroBatch {
  const P = o.to - o.from;
  const L = cfg.text.contextLength;
  const D = cfg.imageSize * cfg.imageSize * 3;
  const T = schedule.alphasCumprod.length;
  const tokens = new Int32Array(2 * P * L);
  const x0 = new Float32Array(2 * P * D);
  const eps = new Float32Array(2 * P * D);
  const tInt = new Int32Array(2 * P);
  const labels = new Float32Array(2 * P);
  const noise = new Float32Array(D);
  for (let i = 0; i < P; i++) {
    const slot = o.from + i;
    const pair = pairs[o.order.at(o.step * o.pairsPerStep + slot)];
    if (!pair) throw new Error("internal: pair index out of range");
    const rng = createRng(o.seed, NOISE_STREAM, o.step, slot);
    const t = rng.int(T);
    const drop = rng.uniform() < o.promptDropout;
    rng.fillNormal(noise);
    for (const [row, ex, y] of [
      [i, pair.winner, 1],
      [P + i, pair.loser, -1],
    ] as const) {
      tInt[row] = t;
      if (!drop) tokens.set(set.tokens.subarray(pair.winner * L, (pair.winner + 1) * L), row * L);
      x0.set(set.images.subarray(ex * D, (ex + 1) * D), row * D);
      eps.set(noise, row * D);
      labels[row] = y;
    }
  }
  const xt = addNoise(x0, eps, tInt, schedule.alphasCumprod);
  return { size: 2 * P, tokens, xt, eps, t: Float32Array.from(tInt), labels };
}

/** A deep copy of a micro-batch (its buffers are transferred to workers, so a second use needs one). */
export function cloneMicroBatch(mb: MicroBatch): MicroBatch {
  return {
    size: mb.size,
    tokens: mb.tokens.slice(),
    xt: mb.xt.slice(),
    eps: mb.eps.slice(),
    t: mb.t.slice(),
    ...(mb.labels ? { labels: mb.labels.slice() } : {}),
    ...(mb.epsRef ? { epsRef: mb.epsRef.slice() } : {}),
    ...(mb.sampleWeights ? { sampleWeights: mb.sampleWeights.slice() } : {}),
  };
}
