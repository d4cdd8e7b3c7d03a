/**
 * Diffusion-KTO's toy experiment (Li et al. 2024 §6, Fig. 6): pretrain a 2-D MLP diffusion model on
 * N((0.5, 0.8), 0.04·I), label desirable N((0.3, 0.8), 0.01·I) and undesirable N((0.3, 0.6), 0.01·I)
 * points, then fine-tune copies of it with KTO (sigmoid utility), loss-averse and risk-seeking
 * utilities, SFT and Diffusion-DPO — same labels, same steps, same images per step, same optimizer —
 * through the objective functions of src/objective/, and measure samples of each. Deterministic.
 */
import * as tf from "@tensorflow/tfjs";

import { KtoError } from "../errors";
import { dpoObjective } from "../objective/dpo-loss";
import { buildDpoPairs } from "../objective/dpo-pairs";
import { ktoObjective } from "../objective/kto-loss";
import { readMetricsSync, type LossWithMetrics, type ObjectiveMetrics } from "../objective/metrics";
import { type Utility } from "../objective/options";
import { PositiveRatioSampler } from "../objective/positive-ratio-sampler";
import { sftObjective } from "../objective/sft-loss";
import { createRng } from "../rng";
import {
  DEFAULT_TOY_MODEL,
  initToyParams,
  sampleToy,
  toyForward,
  toyParamShape,
  toySchedule,
  type ToyModelConfig,
  type ToyParams,
} from "./toy-model";

/** The distributions of the paper's toy (variances as written: 0.04 → σ 0.2, 0.01 → σ 0.1). */
export const TOY_DISTRIBUTIONS = {
  pretrain: { mean: [0.5, 0.8], std: 0.2 },
  desirable: { mean: [0.3, 0.8], std: 0.1 },
  undesirable: { mean: [0.3, 0.6], std: 0.1 },
} as const;

export const TOY_METHODS = ["pretrained", "kto", "loss-averse", "risk-seeking", "sft", "dpo"] as const;
export type ToyMethod = (typeof TOY_METHODS)[number];

export type ToyOptions = {
  readonly seed: number;
  readonly model: ToyModelConfig;
  readonly pretrainSteps: number;
  readonly pretrainLearningRate: number;
  readonly fineTuneSteps: number;
  readonly fineTuneLearningRate: number;
  /** Images per optimizer step (DPO: batchSize/2 pairs). */
  readonly batchSize: number;
  /** Labelled feedback points per class. */
  readonly feedbackPerClass: number;
  /** Fine-tuning clips the global gradient norm to this (the official code's clip_grad_norm(1.0)); 0 = off. */
  readonly gradClipNorm: number;
  /** β of KTO (all utilities) and DPO. */
  readonly beta: number;
  /** γ of the positive-ratio sampler (KTO variants). */
  readonly gamma: number;
  /**
   * Noise draws per feedback point (K ≥ 1, divides the batch; DPO: divides the pairs): each point of a
   * step gets one t and K independent ε, and its per-sample error is the mean over the K draws × 2
   * coordinates — as an SD latent's error is a mean over its 16,384 elements at one t. K = 1 is the
   * plain per-point estimate; K > 1 lowers the noise of the reward g at the same compute (B/K points).
   */
  readonly drawsPerPoint: number;
  /** Samples drawn from each model for the table and plots. */
  readonly samples: number;
  /** Every this many fine-tuning steps, sample `checkpointSamples` points for the trajectory (0 = final only). */
  readonly checkpointEvery: number;
  readonly checkpointSamples: number;
  /**
   * The KTO utilities' reference point z: `batch` (the code default: max(0, mean g) over the step's batch, detached),
   * `class-balanced` (the code's `sigmoid` variant) or `zero` (z = 0: the utility sees the raw implicit reward).
   */
  readonly referencePoint: ToyReferencePoint;
  /** Which fine-tuned methods to run (default all). */
  readonly methods?: readonly Exclude<ToyMethod, "pretrained">[];
};

export const TOY_REFERENCE_POINTS = ["batch", "class-balanced", "zero"] as const;
export type ToyReferencePoint = (typeof TOY_REFERENCE_POINTS)[number];

export const DEFAULT_TOY_OPTIONS: ToyOptions = {
  seed: 1,
  model: DEFAULT_TOY_MODEL,
  pretrainSteps: 1500,
  pretrainLearningRate: 3e-3,
  fineTuneSteps: 800,
  fineTuneLearningRate: 3e-4,
  gradClipNorm: 1,
  batchSize: 256,
  feedbackPerClass: 1000,
  // |β·g| reaches O(1) (digest §6): g ≈ 0.05–0.15 on this toy's per-coordinate MSE.
  beta: 10,
  gamma: 0.8,
  // 8 draws × 2 coordinates per sample at the same compute (32 points per step): a one-draw g on a 2-D point is
  // so noisy that U's curvature dominates (log σ stalls, softplus gains from noise); BENCHMARKS.md has both.
  drawsPerPoint: 8,
  referencePoint: "batch",
  samples: 3500,
  checkpointEvery: 200,
  checkpointSamples: 1000,
};

export type ToyStats = {
  /** Share within 1 σ_D = 0.1 of the desirable mode (0.3, 0.8). */
  readonly nearDesirable: number;
  /** Share within 0.1 of the undesirable mode (0.3, 0.6). */
  readonly nearUndesirable: number;
  readonly meanDistDesirable: number;
  readonly meanDistUndesirable: number;
  /** Share farther than 3 σ (0.6) from the pretraining mean: outside the data support. */
  readonly outsideSupport: number;
  /** Share farther than 2.5 σ_D (0.25) from the desirable mode: outside the desirable distribution. */
  readonly outsideDesirable: number;
};

export type ToyMethodResult = {
  readonly method: ToyMethod;
  /** Samples in data coordinates, float32 [n·2]. */
  readonly samples: Float32Array;
  readonly stats: ToyStats;
  /** Objective metrics averaged over the last 10 % of fine-tuning steps (empty for `pretrained`). */
  readonly finalMetrics: ObjectiveMetrics;
  /** Statistics of `checkpointSamples` samples every `checkpointEvery` steps (empty for `pretrained`). */
  readonly trajectory: readonly ToyCheckpoint[];
  /**
   * Step at which training stopped on a non-finite loss or input (the loss diverged); the weights are
   * then the last checkpoint's. Undefined when all steps ran.
   */
  readonly stoppedAt?: number;
};

export type ToyCheckpoint = {
  readonly step: number;
  readonly stats: ToyStats;
  /** Mean KL proxy ‖ε_θ − ε_ref‖²_mean over the steps since the previous checkpoint (KTO, DPO). */
  readonly kl?: number;
  readonly rewardDesirable?: number;
  readonly rewardUndesirable?: number;
  /** Mean global gradient norm before clipping over the steps since the previous checkpoint. */
  readonly gradNorm: number;
};

export type ToyProgress = {
  readonly phase: ToyMethod;
  readonly step: number;
  readonly total: number;
  readonly loss: number;
};

const center = TOY_DISTRIBUTIONS.pretrain.mean;
const scale = TOY_DISTRIBUTIONS.pretrain.std;
const toModel = (v: number, axis: number) => (v - (center[axis] ?? 0)) / scale;
const toData = (v: number, axis: number) => v * scale + (center[axis] ?? 0);

/** n points of N(mean, std²·I) in data coordinates, float32 [n·2]. */
function gaussian(
  n: number,
  mean: readonly number[],
  std: number,
  seed: number,
  stream: number,
): Float32Array {
  const out = createRng(seed, 0x6a05, stream).fillNormal(new Float32Array(n * 2), std);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < 2; a++) out[2 * i + a] = (out[2 * i + a] ?? 0) + (mean[a] ?? 0);
  return out;
}

/** samples float32 [n·2] (data coordinates) → the table's statistics. */
export function toyStats(samples: Float32Array): ToyStats {
  const n = samples.length / 2;
  const dist = (i: number, m: readonly number[]) =>
    Math.hypot((samples[2 * i] ?? 0) - (m[0] ?? 0), (samples[2 * i + 1] ?? 0) - (m[1] ?? 0));
  let nd = 0,
    nu = 0,
    sd = 0,
    su = 0,
    out = 0,
    outD = 0;
  for (let i = 0; i < n; i++) {
    const d = dist(i, TOY_DISTRIBUTIONS.desirable.mean);
    const u = dist(i, TOY_DISTRIBUTIONS.undesirable.mean);
    if (d < TOY_DISTRIBUTIONS.desirable.std) nd++;
    if (u < TOY_DISTRIBUTIONS.undesirable.std) nu++;
    sd += d;
    su += u;
    if (dist(i, TOY_DISTRIBUTIONS.pretrain.mean) > 3 * TOY_DISTRIBUTIONS.pretrain.std) out++;
    if (d > 2.5 * TOY_DISTRIBUTIONS.desirable.std) outD++;
  }
  return {
    nearDesirable: nd / n,
    nearUndesirable: nu / n,
    meanDistDesirable: sd / n,
    meanDistUndesirable: su / n,
    outsideSupport: out / n,
    outsideDesirable: outD / n,
  };
}

type Batch = { x0: Float32Array; labels: Float32Array; t: Int32Array; eps: Float32Array };

/** x_t = √ᾱ x₀ + √(1−ᾱ) ε on standardised points → tensors. */
function noisy(
  b: Batch,
  alphasCumprod: Float32Array,
): { xt: tf.Tensor2D; t: tf.Tensor1D; eps: tf.Tensor2D; labels: tf.Tensor1D } {
  const n = b.t.length;
  const xt = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const ab = alphasCumprod[b.t[i] ?? 0] ?? 1;
    for (let a = 0; a < 2; a++)
      xt[2 * i + a] = Math.sqrt(ab) * (b.x0[2 * i + a] ?? 0) + Math.sqrt(1 - ab) * (b.eps[2 * i + a] ?? 0);
  }
  return {
    xt: tf.tensor2d(xt, [n, 2]),
    t: tf.tensor1d(Float32Array.from(b.t)),
    eps: tf.tensor2d(b.eps, [n, 2]),
    labels: tf.tensor1d(b.labels),
  };
}

function variablesFrom(
  cfg: ToyModelConfig,
  weights: ReadonlyMap<string, Float32Array>,
  trainable: boolean,
): Map<string, tf.Tensor> {
  const m = new Map<string, tf.Tensor>();
  for (const [name, data] of weights) {
    const t = tf.tensor(data, toyParamShape(cfg, name));
    m.set(name, trainable ? tf.variable(t, true) : t);
    if (trainable) t.dispose();
  }
  return m;
}

function readWeights(params: ToyParams): Map<string, Float32Array> {
  return new Map([...params].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

function disposeParams(params: ToyParams): void {
  for (const v of params.values()) v.dispose();
}

/** Pretraining: plain ε-MSE on fresh draws of the pretraining distribution every step. */
export function pretrainToy(o: ToyOptions, onProgress?: (p: ToyProgress) => void): Map<string, Float32Array> {
  const cfg = o.model;
  const { alphasCumprod } = toySchedule(cfg);
  const params = variablesFrom(cfg, initToyParams(cfg, o.seed), true);
  const optimizer = tf.train.adam(o.pretrainLearningRate);
  const vars = [...params.values()] as tf.Variable[];
  try {
    for (let step = 0; step < o.pretrainSteps; step++) {
      const rng = createRng(o.seed, 0x9e7, step);
      const B = o.batchSize;
      const x0 = gaussian(B, [0, 0], 1, o.seed, 0x100000 + step); // standardised pretraining data = N(0, I)
      const b: Batch = {
        x0,
        labels: new Float32Array(B).fill(1),
        t: Int32Array.from({ length: B }, () => rng.int(cfg.steps)),
        eps: rng.fillNormal(new Float32Array(B * 2)),
      };
      const { xt, t, eps, labels } = noisy(b, alphasCumprod);
      const cost = optimizer.minimize(
        () => tf.mean(tf.square(tf.sub(toyForward(cfg, params, xt, t), eps))),
        true,
        vars,
      );
      const loss = cost?.dataSync()[0] ?? Number.NaN;
      cost?.dispose();
      tf.dispose([xt, t, eps, labels]);
      if (!Number.isFinite(loss))
        throw new KtoError("NON_FINITE_LOSS", `toy pretraining loss became ${loss} at step ${step}`);
      if (onProgress && (step % 50 === 0 || step === o.pretrainSteps - 1))
        onProgress({ phase: "pretrained", step: step + 1, total: o.pretrainSteps, loss });
    }
    return readWeights(params);
  } finally {
    optimizer.dispose();
    disposeParams(params);
  }
}

/** Is `e` the objective's or the loop's report of a non-finite value (a diverged fine-tune)? */
const isNonFinite = (e: unknown) =>
  e instanceof KtoError && (e.code === "NON_FINITE_LOSS" || e.code === "NON_FINITE_INPUT");

/**
 * Fine-tunes a copy of `pretrained` with one method; `reference` (the frozen pretrained weights) is
 * only read. Returns the fine-tuned weights, the mean metrics of the last 10 % of steps and the
 * checkpoint trajectory. A non-finite loss stops the run (`stoppedAt`) and returns the last checkpoint.
 */
export function fineTuneToy(
  method: Exclude<ToyMethod, "pretrained">,
  pretrained: ReadonlyMap<string, Float32Array>,
  feedback: { points: Float32Array; labels: Float32Array },
  o: ToyOptions,
  onProgress?: (p: ToyProgress) => void,
): {
  weights: Map<string, Float32Array>;
  finalMetrics: ObjectiveMetrics;
  trajectory: ToyCheckpoint[];
  stoppedAt?: number;
} {
  const cfg = o.model;
  const { alphasCumprod } = toySchedule(cfg);
  const B = o.batchSize;
  const K = o.drawsPerPoint;
  checkToyOptions(o);
  const policy = variablesFrom(cfg, pretrained, true);
  const reference = variablesFrom(cfg, pretrained, false);
  const vars = [...policy.values()] as tf.Variable[];
  const optimizer = tf.train.adam(o.fineTuneLearningRate);
  const n = feedback.labels.length;
  const standard = feedback.points.map((v, i) => toModel(v, i % 2));
  // SFT trains on liked points only (γ = 1); the KTO utilities draw desirable with probability γ.
  const sampler = new PositiveRatioSampler(feedback.labels, method === "sft" ? 1 : o.gamma, o.seed);
  const pairs = method === "dpo" ? buildDpoPairs(new Array<string>(n).fill(""), feedback.labels).pairs : [];
  const pairOrder = method === "dpo" ? createRng(o.seed, 0xd90).permutation(pairs.length) : new Int32Array(0);
  const utilityOf: Partial<Record<ToyMethod, Utility>> = {
    kto: "sigmoid",
    "loss-averse": "loss-averse",
    "risk-seeking": "risk-seeking",
  };
  // z = 0 is a fixed reference point; the other two are the objective's own estimates.
  const zero = o.referencePoint === "zero" ? { fixedReferencePoint: 0 } : {};
  const referencePoint = o.referencePoint === "class-balanced" ? "class-balanced" : "batch";
  const tail = Math.max(1, Math.floor(o.fineTuneSteps / 10));
  const sums: Record<string, number> = {};
  const trajectory: ToyCheckpoint[] = [];
  let window: Record<string, number> = {};
  let windowSteps = 0;
  let gradNormSum = 0;
  let last = new Map(pretrained);
  let stoppedAt: number | undefined;
  // Rows [P·K] → samples [P, K·2]: one per-sample error over K draws (denoisingError means every non-batch axis).
  const perPoint = (x: tf.Tensor): tf.Tensor2D => tf.reshape(x, [B / K, 2 * K]);
  try {
    for (let step = 0; step < o.fineTuneSteps; step++) {
      const rng = createRng(o.seed, 0xf17, step);
      const idx = new Int32Array(B);
      const t = new Int32Array(B);
      const eps = rng.fillNormal(new Float32Array(B * 2));
      if (method === "dpo") {
        // [winners, losers] with t and ε shared within each pair (rows r and P + r); K rows per point.
        const P = B / 2;
        for (let j = 0; j < P / K; j++) {
          const pair = pairs[pairOrder[(step * (P / K) + j) % pairs.length] ?? 0];
          const tj = rng.int(cfg.steps);
          for (let k = 0; k < K; k++) {
            const r = j * K + k;
            idx[r] = pair?.winner ?? 0;
            idx[P + r] = pair?.loser ?? 0;
            t[r] = t[P + r] = tj;
            eps[2 * (P + r)] = eps[2 * r] ?? 0;
            eps[2 * (P + r) + 1] = eps[2 * r + 1] ?? 0;
          }
        }
      } else {
        const points = sampler.sample(B / K, (step * B) / K);
        for (let j = 0; j < B / K; j++) {
          const tj = rng.int(cfg.steps);
          for (let k = 0; k < K; k++) {
            idx[j * K + k] = points[j] ?? 0;
            t[j * K + k] = tj;
          }
        }
      }
      const x0 = new Float32Array(B * 2);
      const rowLabels = new Float32Array(B);
      idx.forEach((ex, i) => {
        x0[2 * i] = standard[2 * ex] ?? 0;
        x0[2 * i + 1] = standard[2 * ex + 1] ?? 0;
        rowLabels[i] = feedback.labels[ex] ?? 0;
      });
      const batch = noisy({ x0, labels: rowLabels, t, eps }, alphasCumprod);
      const labels = tf.tensor1d(rowLabels.filter((_v, i) => i % K === 0));
      const epsRef = method === "sft" ? undefined : toyForward(cfg, reference, batch.xt, batch.t); // no tape: frozen
      const wantMetrics = step >= o.fineTuneSteps - tail || o.checkpointEvery > 0;
      let metrics: ObjectiveMetrics = {};
      let loss = Number.NaN;
      try {
        const { value: cost, grads } = tf.variableGrads(() => {
          const epsPolicy = perPoint(toyForward(cfg, policy, batch.xt, batch.t));
          const e = perPoint(batch.eps);
          const ref = epsRef ? perPoint(epsRef) : epsPolicy;
          let out: LossWithMetrics;
          const utility = utilityOf[method];
          if (utility)
            out = ktoObjective(
              { eps: e, epsPolicy, epsRef: ref, labels, ...zero },
              { beta: o.beta, utility, referencePoint },
            );
          else if (method === "dpo")
            out = dpoObjective({ eps: e, epsPolicy, epsRef: ref, labels }, { beta: o.beta });
          else out = sftObjective({ eps: e, epsPolicy, labels });
          if (wantMetrics) metrics = readMetricsSync(out.metrics);
          else for (const m of Object.values(out.metrics)) m.dispose();
          return out.loss;
        }, vars);
        loss = cost.dataSync()[0] ?? Number.NaN;
        const norm = globalNorm(grads);
        gradNormSum += norm;
        const clipped =
          o.gradClipNorm > 0 && norm > o.gradClipNorm ? scaleGrads(grads, o.gradClipNorm / norm) : undefined;
        if (Number.isFinite(loss))
          optimizer.applyGradients(
            Object.entries(clipped ?? grads).map(([name, tensor]) => ({ name, tensor })),
          );
        tf.dispose([cost, ...Object.values(grads), ...Object.values(clipped ?? {})]);
      } catch (e) {
        if (!isNonFinite(e)) throw e;
      } finally {
        tf.dispose([batch.xt, batch.t, batch.eps, batch.labels, labels, ...(epsRef ? [epsRef] : [])]);
      }
      if (!Number.isFinite(loss)) {
        stoppedAt = step;
        break;
      }
      if (step >= o.fineTuneSteps - tail)
        for (const [k, v] of Object.entries(metrics)) sums[k] = (sums[k] ?? 0) + v / tail;
      for (const [k, v] of Object.entries(metrics)) window[k] = (window[k] ?? 0) + v;
      windowSteps++;
      if (o.checkpointEvery > 0 && ((step + 1) % o.checkpointEvery === 0 || step === o.fineTuneSteps - 1)) {
        last = readWeights(policy);
        const samples = sampleToyModel(last, { ...o, samples: o.checkpointSamples }, 0x100 + step);
        const mean = (k: string) => (window[k] === undefined ? undefined : (window[k] ?? 0) / windowSteps);
        const kl = mean("kl");
        const gD = mean("rewardDesirable");
        const gU = mean("rewardUndesirable");
        trajectory.push({
          step: step + 1,
          stats: toyStats(samples),
          gradNorm: gradNormSum / windowSteps,
          ...(kl !== undefined ? { kl } : {}),
          ...(gD !== undefined ? { rewardDesirable: gD } : {}),
          ...(gU !== undefined ? { rewardUndesirable: gU } : {}),
        });
        window = {};
        windowSteps = 0;
        gradNormSum = 0;
      }
      if (onProgress && (step % 25 === 0 || step === o.fineTuneSteps - 1))
        onProgress({ phase: method, step: step + 1, total: o.fineTuneSteps, loss });
    }
    return {
      weights: stoppedAt === undefined ? readWeights(policy) : last,
      finalMetrics: sums,
      trajectory,
      ...(stoppedAt !== undefined ? { stoppedAt } : {}),
    };
  } finally {
    optimizer.dispose();
    disposeParams(policy);
    disposeParams(reference);
  }
}

/** ‖all gradients‖₂, as torch's clip_grad_norm_ measures it. */
function globalNorm(grads: tf.NamedTensorMap): number {
  const sq = tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
  const v = sq.dataSync()[0] ?? Number.NaN;
  sq.dispose();
  return Math.sqrt(v);
}

/** Every gradient × k (new tensors; the caller disposes them). */
function scaleGrads(grads: tf.NamedTensorMap, k: number): tf.NamedTensorMap {
  return Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, tf.mul(g, k)]));
}

function checkToyOptions(o: ToyOptions): void {
  if (!(TOY_REFERENCE_POINTS as readonly string[]).includes(o.referencePoint)) {
    throw new KtoError(
      "INVALID_TRAIN_OPTIONS",
      `toy referencePoint must be one of ${TOY_REFERENCE_POINTS.join(", ")}, got ${String(o.referencePoint)}`,
    );
  }
  if (!(o.gradClipNorm >= 0 && Number.isFinite(o.gradClipNorm)))
    throw new KtoError(
      "INVALID_TRAIN_OPTIONS",
      `toy gradClipNorm must be a finite number ≥ 0, got ${o.gradClipNorm}`,
    );
  const K = o.drawsPerPoint;
  if (!(Number.isInteger(K) && K >= 1 && o.batchSize % (2 * K) === 0)) {
    throw new KtoError(
      "INVALID_TRAIN_OPTIONS",
      `toy drawsPerPoint must be an integer ≥ 1 with batchSize divisible by 2·drawsPerPoint (DPO pairs), got ${K} draws for batch ${o.batchSize}`,
    );
  }
}

/** Samples in data coordinates, float32 [n·2]. */
export function sampleToyModel(
  weights: ReadonlyMap<string, Float32Array>,
  o: ToyOptions,
  stream: number,
): Float32Array {
  const params = variablesFrom(o.model, weights, false);
  try {
    return sampleToy(o.model, params, o.samples, (o.seed * 31 + stream) >>> 0).map((v, i) =>
      toData(v, i % 2),
    );
  } finally {
    disposeParams(params);
  }
}

/** The feedback set: `feedbackPerClass` desirable then as many undesirable points (data coordinates), labels ±1. */
export function toyFeedback(o: Pick<ToyOptions, "feedbackPerClass" | "seed">): {
  points: Float32Array;
  labels: Float32Array;
} {
  const n = o.feedbackPerClass;
  const points = new Float32Array(4 * n);
  points.set(gaussian(n, TOY_DISTRIBUTIONS.desirable.mean, TOY_DISTRIBUTIONS.desirable.std, o.seed, 1), 0);
  points.set(
    gaussian(n, TOY_DISTRIBUTIONS.undesirable.mean, TOY_DISTRIBUTIONS.undesirable.std, o.seed, 2),
    2 * n,
  );
  const labels = new Float32Array(2 * n).map((_v, i) => (i < n ? 1 : -1));
  return { points, labels };
}

/** The whole experiment: pretrain, then every method from the same pretrained weights; stats per method. */
export function runToyExperiment(
  options: Partial<ToyOptions> = {},
  onProgress?: (p: ToyProgress) => void,
): { options: ToyOptions; results: ToyMethodResult[] } {
  const o: ToyOptions = { ...DEFAULT_TOY_OPTIONS, ...options };
  if (o.batchSize % 2 !== 0 || o.batchSize < 2)
    throw new KtoError("INVALID_TRAIN_OPTIONS", `toy batchSize must be even (DPO pairs), got ${o.batchSize}`);
  checkToyOptions(o);
  const pretrained = pretrainToy(o, onProgress);
  const feedback = toyFeedback(o);
  const results: ToyMethodResult[] = [];
  const base = sampleToyModel(pretrained, o, 0);
  results.push({
    method: "pretrained",
    samples: base,
    stats: toyStats(base),
    finalMetrics: {},
    trajectory: [],
  });
  const methods =
    o.methods ?? TOY_METHODS.filter((m): m is Exclude<ToyMethod, "pretrained"> => m !== "pretrained");
  methods.forEach((method, k) => {
    const { weights, finalMetrics, trajectory, stoppedAt } = fineTuneToy(
      method,
      pretrained,
      feedback,
      o,
      onProgress,
    );
    const samples = sampleToyModel(weights, o, k + 1);
    results.push({
      method,
      samples,
      stats: toyStats(samples),
      finalMetrics,
      trajectory,
      ...(stoppedAt !== undefined ? { stoppedAt } : {}),
    });
  });
  return { options: o, results };
}

/** A fine-tune "diverged" when it stopped on a non-finite value or at least this share of its samples left the support. */
export const DIVERGED_SHARE = 0.5;

export function hasDiverged(r: ToyMethodResult): boolean {
  return r.stoppedAt !== undefined || r.stats.outsideSupport >= DIVERGED_SHARE;
}

export type ToyFinding = { readonly claim: string; readonly holds: boolean; readonly evidence: string };

/**
 * The paper's qualitative findings (§6, Fig. 6) as checks on the table:
 * 1. KTO (sigmoid) raises the desirable-mode share to ≥ 2× the pretrained model's and keeps samples inside
 *    the pretraining support (no more outside than the pretrained model + 1 point);
 * 2. loss-averse over-shoots away from the undesirable mode: fewer samples near it than the pretrained
 *    model (it did move away) and no more than KTO, farther from it on average than KTO, and more of its
 *    samples leave the desirable distribution than KTO's;
 * 3. risk-seeking and SFT leave a clearly (≥ 1.5×) larger undesirable-mode share than KTO. A method that
 *    diverged — its run stopped on a non-finite loss, or half of its final samples are outside the
 *    support — is judged at its last checkpoint inside the support (< 50 % outside) against KTO's
 *    checkpoint at the same step (the same rule for every method); with no such checkpoint it fails.
 */
export function toyFindings(results: readonly ToyMethodResult[]): ToyFinding[] {
  const get = (m: ToyMethod) => results.find((r) => r.method === m)?.stats;
  const base = get("pretrained");
  const kto = get("kto");
  const la = get("loss-averse");
  const out: ToyFinding[] = [];
  const p = (v: number) => `${(100 * v).toFixed(1)}%`;
  if (base && kto) {
    out.push({
      claim:
        "KTO raises the desirable-mode share well above the pretrained model (≥ 2×) while staying inside the data support",
      holds: kto.nearDesirable >= 2 * base.nearDesirable && kto.outsideSupport <= base.outsideSupport + 0.01,
      evidence: `near D ${p(base.nearDesirable)} → ${p(kto.nearDesirable)}; outside support ${p(base.outsideSupport)} → ${p(kto.outsideSupport)}`,
    });
  }
  if (base && kto && la) {
    out.push({
      claim: "loss-averse over-shoots away from the undesirable mode and leaves the desirable distribution",
      holds:
        la.nearUndesirable < base.nearUndesirable &&
        la.nearUndesirable <= kto.nearUndesirable &&
        la.meanDistUndesirable > kto.meanDistUndesirable &&
        la.outsideDesirable > kto.outsideDesirable,
      evidence: `near U ${p(la.nearUndesirable)} vs KTO ${p(kto.nearUndesirable)} (pretrained ${p(base.nearUndesirable)}); mean distance to U ${la.meanDistUndesirable.toFixed(3)} vs KTO ${kto.meanDistUndesirable.toFixed(3)}; outside D ${p(la.outsideDesirable)} vs KTO ${p(kto.outsideDesirable)}`,
    });
  }
  const ktoRun = results.find((r) => r.method === "kto");
  for (const m of ["risk-seeking", "sft"] as const) {
    const run = results.find((r) => r.method === m);
    if (!ktoRun || !kto || !run) continue;
    const claim = `${m} leaves a clearly larger undesirable-mode share than KTO (≥ 1.5×)`;
    if (!hasDiverged(run)) {
      out.push({
        claim,
        holds: run.stats.nearUndesirable >= 1.5 * kto.nearUndesirable,
        evidence: `near U ${p(run.stats.nearUndesirable)} vs KTO ${p(kto.nearUndesirable)}`,
      });
      continue;
    }
    const how =
      run.stoppedAt !== undefined
        ? `its loss became non-finite at step ${run.stoppedAt + 1}`
        : `${p(run.stats.outsideSupport)} of its samples are outside the support`;
    const inside = run.trajectory.filter((c) => c.stats.outsideSupport < DIVERGED_SHARE);
    const at = inside[inside.length - 1];
    const ktoAt = at && ktoRun.trajectory.find((c) => c.step === at.step);
    if (!at || !ktoAt) {
      out.push({ claim, holds: false, evidence: `diverged (${how}) before its first checkpoint` });
      continue;
    }
    out.push({
      claim,
      holds: at.stats.nearUndesirable >= 1.5 * ktoAt.stats.nearUndesirable,
      evidence: `diverged (${how}); at step ${at.step}, its last checkpoint inside the support: near U ${p(at.stats.nearUndesirable)} vs KTO ${p(ktoAt.stats.nearUndesirable)} (near D ${p(at.stats.nearDesirable)} vs ${p(ktoAt.stats.nearDesirable)})`,
    });
  }
  return out;
}
