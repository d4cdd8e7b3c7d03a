/**
 * The training loop, generic over the objective (objective.ts): DDPM-style ε-prediction training
 * (Ho et al. 2020, Algorithm 1) with prompt dropout for classifier-free guidance, Adam with
 * linear warm-up and global-norm clipping (adam.ts), gradient accumulation, optional
 * data-parallel worker_threads (worker-pool.ts) and bit-identical checkpoint/resume
 * (checkpoint.ts). kto has no clock: pass `clock` to get img/s and ETA in progress reports.
 */
import { KtoError } from "../errors";
import { validateModelConfig, type ModelConfig } from "../model/config";
import { type WeightMap, initWeights } from "../model/params";
import { describeModel, type ModelSpec } from "../model/spec-ops";
import { addNoise } from "../noise";
import { createSchedule, DEFAULT_SCHEDULE, type NoiseSchedule, type ScheduleSpec } from "../schedule";
import { initBackend, type BackendPreference } from "../tf/backend";
import {
  adamStep,
  createAdamState,
  DEFAULT_ADAM,
  globalNorm,
  learningRateAt,
  type AdamState,
  type LearningRateDecay,
} from "./adam";
import {
  concatStats,
  combineMetrics,
  implicitRewards,
  objectiveMetricsOf,
  referencePointOf,
  type SampleStats,
} from "../objective/batch-metrics";
import { type ObjectiveMetrics } from "../objective/metrics";
import { ktoOptionsFromCodes, type KtoOptions } from "../objective/options";
import { PositiveRatioSampler } from "../objective/positive-ratio-sampler";
import { rollPrompts } from "../objective/reference-point";
import {
  checkTrainingSet,
  cloneMicroBatch,
  DataOrder,
  lossWeightTable,
  makeMicroBatch,
  type LossWeighting,
  makePairMicroBatch,
  type MicroBatch,
  type TrainingPair,
  type TrainingSet,
} from "./batch";
import {
  checkCheckpointLayout,
  decodeCheckpoint,
  encodeCheckpoint,
  type CheckpointTraining,
} from "./checkpoint";
import { GradientEngine } from "./engine";
import {
  createLayout,
  flattenWeights,
  parameterPatterns,
  unflattenWeights,
  type ParamLayout,
} from "./layout";
import { resolveObjective, type Objective, type ObjectiveOptions } from "./objective";
import { GradientWorkerPool } from "./worker-pool";

export type TrainOptions = {
  readonly config: ModelConfig;
  readonly data: TrainingSet;
  /** Seeds weights init, data order, t, ε and prompt dropout. */
  readonly seed: number;
  /** Examples per optimizer step (split into `gradientAccumulation` micro-batches, each split across workers). */
  readonly batchSize: number;
  readonly learningRate?: number;
  /** Linear warm-up from 0 over this many optimizer steps. */
  readonly warmupSteps?: number;
  /**
   * Diffusion-KTO's positive ratio γ (paper §4.2): each draw is desirable with probability γ, with
   * replacement (objective/positive-ratio-sampler.ts), instead of epoch-shuffled order. Needs labels.
   */
  readonly positiveRatio?: number;
  /**
   * (winner, loser) pairs of one prompt (e.g. from `buildDpoPairs`): each step draws batchSize/2 pairs and lays
   * each micro-batch out as [winners, losers] with t, ε and the prompt shared per pair, winners labelled +1 and
   * losers −1. Required by "dpo"; optional for "kto", where it is a paired estimator of the same per-sample loss
   * (common random numbers: the noise and timestep a liked and a disliked image of one prompt share cancel in
   * the update's common part; no positive-ratio sampler then, the classes are balanced by construction).
   */
  readonly pairs?: readonly TrainingPair[];
  /** Cosine learning-rate decay after warm-up (default: none, constant after warm-up). */
  readonly learningRateDecay?: LearningRateDecay;
  /** Timestep weighting of the denoising loss (batch.ts `LossWeighting`; objective "mse" only). Default: unweighted. */
  readonly lossWeighting?: LossWeighting;
  /**
   * Keep an exponential moving average of the weights with this decay (e.g. 0.999; Ho et al. 2020 sample from
   * the EMA), warmed up as min(decay, (1 + step)/(10 + step)) so early steps are not dominated by the init.
   * Read it with `emaWeights()`; it is checkpointed. Default: none.
   */
  readonly emaDecay?: number;
  /** Global-norm clip threshold; ≤ 0 disables. */
  readonly maxGradNorm?: number;
  readonly gradientAccumulation?: number;
  /**
   * Train the classifier-free-guided prediction ε_u + w·(ε_c − ε_u) instead of ε_c (w = 1, default: off): for data
   * the guided sampler drew, so that the model the loss fits is the sampler that drew it. Costs a second forward (the
   * all-pad rows) per sample; a referencePredictor must return the guided ε_ref too (`guidedReferencePredictor`).
   */
  readonly guidanceScale?: number;
  /** Probability of replacing a prompt by the empty (all-pad) prompt. */
  readonly promptDropout?: number;
  readonly schedule?: ScheduleSpec;
  /** Objective name (registered in OBJECTIVES; required with workers) or an Objective (in-process only). */
  readonly objective?: string | Objective;
  readonly objectiveOptions?: ObjectiveOptions;
  /** Starting weights (default: fresh init from `seed`). Ignored when resuming. */
  readonly initialWeights?: WeightMap;
  /** Frozen reference model weights, for objectives that need ε_ref (run in tfjs by each engine). */
  readonly reference?: WeightMap;
  /**
   * Alternative to `reference`: computes ε_ref for each micro-batch on the main thread — e.g. the
   * reference's exported ONNX graph in ONNX Runtime, ~10× faster per FLOP than tfjs-wasm.
   */
  readonly referencePredictor?: ReferencePredictor;
  /** Train only the UNet (alignment); the text encoder stays fixed. */
  readonly freezeTextEncoder?: boolean;
  /**
   * Train only the parameters whose names match one of these patterns (`*` = any characters, e.g. "unet.*attn*",
   * "*.b"); the rest stay at their initial values and get no Adam update (the step costs about the same). Combined with
   * freezeTextEncoder, both must allow a parameter. Default: every parameter. Each pattern must match one.
   */
  readonly trainableParameters?: readonly string[];
  /** Checkpoint bytes to continue from (its seed and config must match). */
  readonly resumeFrom?: Uint8Array;
  /**
   * n ≥ 1 (default 1): n data-parallel worker_threads, restarted on a crash (a wasm abort is
   * permanent for its module, so this is the safe mode); 0 = compute in this thread (tests, tools).
   */
  readonly workers?: number;
  readonly backend?: BackendPreference;
  /** Worker entry override (e.g. a bundled .js build of train/worker.ts). */
  readonly workerUrl?: URL;
  /** Times a crashed worker pool is restarted and the step retried before WORKER_CRASHED is thrown. */
  readonly maxWorkerRestarts?: number;
  /** wasm heap budget per gradient engine; larger micro-batches are refused (BATCH_TOO_LARGE). */
  readonly maxHeapBytes?: number;
  /** Milliseconds from any monotonic origin (e.g. performance.now); enables img/s and ETA. */
  readonly clock?: () => number;
};

/** (tokens int32 [B·L], x_t [B·H·W·3], t [B]) → ε_ref float32 [B·H·W·3] of the frozen reference model. */
export type ReferencePredictor = (batch: {
  readonly size: number;
  readonly tokens: Int32Array;
  readonly xt: Float32Array;
  readonly t: Float32Array;
}) => Float32Array | Promise<Float32Array>;

/**
 * The guided reference ε_u + w·(ε_c − ε_u) from a predictor of the plain one, in one call on [captions; all-pad rows]
 * (the serving sampler's layout): the referencePredictor for TrainOptions.guidanceScale w.
 */
export function guidedReferencePredictor(plain: ReferencePredictor, w: number): ReferencePredictor {
  if (w === 1) return plain;
  return async (b) => {
    const tokens = new Int32Array(2 * b.tokens.length);
    tokens.set(b.tokens);
    const twice = (a: Float32Array) => {
      const out = new Float32Array(2 * a.length);
      out.set(a);
      out.set(a, a.length);
      return out;
    };
    const both = await plain({ size: 2 * b.size, tokens, xt: twice(b.xt), t: twice(b.t) });
    const n = b.xt.length;
    if (both.length !== 2 * n)
      throw new Error(`referencePredictor returned ${both.length} values for ${2 * n}`);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++)
      out[i] = (both[n + i] as number) + w * ((both[i] as number) - (both[n + i] as number));
    return out;
  };
}

export type StepMetrics = {
  /** Optimizer steps completed (1-based after the first step). */
  readonly step: number;
  /** Objective value, mean over the step's batch. */
  readonly loss: number;
  /** Gradient global norm before clipping. */
  readonly gradNorm: number;
  readonly learningRate: number;
  /**
   * The alignment objectives' diagnostics for this step (objective/metrics.ts: loss, reference point z,
   * class rewards, reward accuracy, KL proxy, label mix, raw errors), computed over the whole step batch
   * however it was split. Absent for plain denoising (mse) and custom objectives.
   */
  readonly objective?: ObjectiveMetrics;
};

export type TrainProgress = StepMetrics & {
  readonly totalSteps: number;
  /** Images per second over the last 20 steps (null without a clock). */
  readonly imagesPerSecond: number | null;
  /** Seconds to `totalSteps` at that pace (null without a clock). */
  readonly etaSeconds: number | null;
};

export type RunOptions = {
  /** Train until this many optimizer steps have completed in total. */
  readonly untilStep: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: TrainProgress) => void;
  /** Call `onCheckpoint` every this many steps (and never otherwise). */
  readonly checkpointEvery?: number;
  readonly onCheckpoint?: (bytes: Uint8Array, step: number) => void | Promise<void>;
};

export type RunResult = {
  readonly status: "completed" | "cancelled";
  readonly step: number;
  readonly losses: readonly number[];
};

/** Steps over which progress reports average the pace (img/s, ETA). */
const PACE_WINDOW = 20;

/** Shards per worker and step in data-parallel mode (dynamic load balancing); see `accumulate`. */
const SHARDS_PER_WORKER = 2;
// Smaller shards cost CPU: at 32 px one engine spends ~86 ms/image at batch 4, ~76 at 8, ~72 at 16.
const MIN_SHARD = 8;

/** Empirical wasm heap model (platform notes: 1006 MB at 32 px B16, 3367 MB at B64): base + bytes per activation. */
const HEAP_BASE_BYTES = 220e6;
const HEAP_BYTES_PER_ACTIVATION = 37;
export const DEFAULT_MAX_HEAP_BYTES = 3.2e9;

/** Largest micro-batch one gradient engine may take for `cfg` within `maxHeapBytes` (wasm caps at 4 GB). */
export function maxMicroBatch(cfg: ModelConfig, maxHeapBytes = DEFAULT_MAX_HEAP_BYTES): number {
  const perImage = HEAP_BYTES_PER_ACTIVATION * describeModel(cfg).activationsPerImage;
  return Math.max(0, Math.floor((maxHeapBytes - HEAP_BASE_BYTES) / perImage));
}

/** JSON with object keys sorted, so equal configs compare equal whatever their key order. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : val,
  );
}

const invalid = (msg: string): never => {
  throw new KtoError("INVALID_TRAIN_OPTIONS", `Invalid training options: ${msg}`);
};

type Resolved = Required<
  Omit<
    TrainOptions,
    | "guidanceScale"
    | "emaDecay"
    | "positiveRatio"
    | "pairs"
    | "learningRateDecay"
    | "lossWeighting"
    | "initialWeights"
    | "reference"
    | "referencePredictor"
    | "resumeFrom"
    | "workerUrl"
    | "clock"
    | "objective"
    | "trainableParameters"
  >
> & {
  objective: Objective;
  trainableParameters: readonly string[] | undefined;
  learningRateDecay: LearningRateDecay | undefined;
  lossWeighting: LossWeighting | undefined;
  emaDecay: number | undefined;
  positiveRatio: number | undefined;
  pairs: readonly TrainingPair[] | undefined;
};

function resolveOptions(o: TrainOptions): Resolved {
  const r: Resolved = {
    config: validateModelConfig(o.config),
    data: o.data,
    seed: o.seed,
    batchSize: o.batchSize,
    learningRate: o.learningRate ?? 1e-3,
    warmupSteps: o.warmupSteps ?? 0,
    learningRateDecay: o.learningRateDecay,
    lossWeighting: o.lossWeighting,
    emaDecay: o.emaDecay,
    positiveRatio: o.positiveRatio,
    pairs: o.pairs,
    maxGradNorm: o.maxGradNorm ?? 1,
    gradientAccumulation: o.gradientAccumulation ?? 1,
    promptDropout: o.promptDropout ?? 0.1,
    schedule: o.schedule ?? DEFAULT_SCHEDULE,
    objective: resolveObjective(o.objective ?? "mse"),
    objectiveOptions: o.objectiveOptions ?? {},
    freezeTextEncoder: o.freezeTextEncoder ?? false,
    trainableParameters: o.trainableParameters,
    workers: o.workers ?? 1,
    backend: o.backend ?? "auto",
    maxWorkerRestarts: o.maxWorkerRestarts ?? 1,
    maxHeapBytes: o.maxHeapBytes ?? DEFAULT_MAX_HEAP_BYTES,
  };
  if (!Number.isInteger(r.seed) || r.seed < 0 || r.seed > 0xffffffff) invalid("seed must be a uint32");
  if (!Number.isInteger(r.batchSize) || r.batchSize < 1) invalid("batchSize must be a positive integer");
  if (
    r.trainableParameters &&
    (r.trainableParameters.length === 0 ||
      r.trainableParameters.some((p) => typeof p !== "string" || p === ""))
  )
    invalid("trainableParameters must list at least one non-empty name pattern");
  if (!Number.isInteger(r.gradientAccumulation) || r.gradientAccumulation < 1)
    invalid("gradientAccumulation must be a positive integer");
  if (r.batchSize % r.gradientAccumulation !== 0)
    invalid(`batchSize ${r.batchSize} is not divisible by gradientAccumulation ${r.gradientAccumulation}`);
  if (!(r.learningRate > 0 && Number.isFinite(r.learningRate)))
    invalid("learningRate must be a positive number");
  if (!Number.isInteger(r.warmupSteps) || r.warmupSteps < 0)
    invalid("warmupSteps must be a non-negative integer");
  const d = r.learningRateDecay;
  if (
    d &&
    (!Number.isInteger(d.totalSteps) || d.totalSteps < 1 || !(d.finalRatio >= 0 && d.finalRatio <= 1))
  ) {
    invalid("learningRateDecay needs an integer totalSteps ≥ 1 and finalRatio in [0, 1]");
  }
  if (!(r.promptDropout >= 0 && r.promptDropout <= 1)) invalid("promptDropout must be in [0, 1]");
  if (r.emaDecay !== undefined && !(r.emaDecay > 0 && r.emaDecay < 1))
    invalid(`emaDecay must be in (0, 1) (got ${r.emaDecay})`);
  const g = o.guidanceScale;
  if (g !== undefined && !(Number.isFinite(g) && g > 0 && g <= 30))
    invalid(`guidanceScale must be in (0, 30] (got ${g})`);
  if (r.config.prediction) {
    const baked = createSchedule(r.config.prediction.schedule).alphasCumprod;
    const used = createSchedule(r.schedule).alphasCumprod;
    if (baked.length !== used.length || baked.some((a, i) => a !== used[i])) {
      invalid(
        `the model's v-parameterisation bakes in the schedule ${JSON.stringify(r.config.prediction.schedule)}, but training uses ${JSON.stringify(r.schedule)}`,
      );
    }
  }
  const w = r.lossWeighting;
  if (w) {
    if (w.kind !== "v" || !(w.max >= 1 && Number.isFinite(w.max)))
      invalid(`lossWeighting must be { kind: "v", max ≥ 1 } (got ${JSON.stringify(w)})`);
    if (r.objective.name !== "mse")
      invalid(`lossWeighting applies to the "mse" (pretraining) objective, not "${r.objective.name}"`);
  }
  if (!Number.isInteger(r.workers) || r.workers < 0 || r.workers > 16)
    invalid("workers must be an integer in 0…16");
  if (r.workers > 0 && typeof o.objective === "object") {
    invalid(
      "with workers, pass the objective by its registered name (objectives cannot cross thread boundaries)",
    );
  }
  if (r.positiveRatio !== undefined) {
    if (!(r.positiveRatio >= 0 && r.positiveRatio <= 1))
      invalid(`positiveRatio must be in [0, 1] (got ${r.positiveRatio})`);
    if (!r.data.labels) invalid("positiveRatio needs a training set with labels");
    if (r.pairs) invalid("positiveRatio does not apply to pairs (they balance the classes by construction)");
  }
  if (r.objective.name === "dpo" && r.pairs === undefined)
    invalid(`objective "dpo" needs pairs (winner, loser example indices; see buildDpoPairs)`);
  if (r.pairs !== undefined && r.objective.name !== "dpo" && r.objective.name !== "kto")
    invalid(`pairs are for the "dpo" and "kto" objectives, not "${r.objective.name}"`);
  if (r.pairs) {
    if (r.pairs.length === 0)
      invalid("pairs is empty: at least one (liked, disliked) pair of one prompt is needed");
    if (r.batchSize % 2 !== 0 || (r.batchSize / 2) % r.gradientAccumulation !== 0) {
      invalid(
        `with pairs, batchSize (${r.batchSize} images) must be 2 × a multiple of gradientAccumulation (${r.gradientAccumulation})`,
      );
    }
    r.pairs.forEach((p, i) => {
      for (const ex of [p.winner, p.loser]) {
        if (!Number.isInteger(ex) || ex < 0 || ex >= r.data.size)
          invalid(`pair ${i} refers to example ${ex}, outside the training set of ${r.data.size}`);
      }
    });
  }
  const perEngine = Math.ceil(r.batchSize / r.gradientAccumulation / Math.max(1, r.workers));
  const cap = maxMicroBatch(r.config, r.maxHeapBytes);
  if (perEngine > cap) {
    throw new KtoError(
      "BATCH_TOO_LARGE",
      `micro-batch of ${perEngine} images per engine at ${r.config.imageSize} px exceeds the cap of ${cap} ` +
        `(wasm heap budget ${(r.maxHeapBytes / 1e9).toFixed(1)} GB; the wasm heap aborts at 4 GB). ` +
        `Raise gradientAccumulation or workers, or lower batchSize.`,
    );
  }
  checkTrainingSet(r.data, r.config);
  return r;
}

/** A training run in progress: owns the master weights, Adam state and the gradient engine(s). */
export class Trainer {
  private stepCount: number;
  private readonly order: Pick<DataOrder, "at">;
  private readonly gradAcc: Float32Array;
  private readonly scratch: Float32Array;
  private weightsDirty = true;
  private readonly kto: KtoOptions | undefined;
  /** w(t) per timestep when the loss is weighted (lossWeighting), else undefined. */
  private readonly lossWeights: Float32Array | undefined;
  private weightsVersion = 0;
  private closed = false;

  private constructor(
    private readonly r: Resolved,
    readonly spec: ModelSpec,
    readonly layout: ParamLayout,
    private readonly schedule: NoiseSchedule,
    private readonly master: Float32Array,
    private readonly adam: AdamState,
    startStep: number,
    private readonly engine: GradientEngine | undefined,
    private readonly pool: GradientWorkerPool | undefined,
    /** The tfjs backend the gradients run on, and why others were skipped (for run metadata). */
    readonly backend: { readonly name: string; readonly notes: readonly string[] },
    private readonly clock: (() => number) | undefined,
    private readonly referencePredictor: ReferencePredictor | undefined,
    /** EMA of the weights (emaDecay), or undefined. */
    private readonly ema: Float32Array | undefined,
  ) {
    this.stepCount = startStep;
    this.order = r.pairs
      ? new DataOrder(r.pairs.length, r.seed)
      : r.positiveRatio !== undefined && r.data.labels
        ? new PositiveRatioSampler(r.data.labels, r.positiveRatio, r.seed)
        : new DataOrder(r.data.size, r.seed);
    this.kto = r.objective.name === "kto" ? ktoOptionsFromCodes(r.objectiveOptions) : undefined;
    this.lossWeights = lossWeightTable(r.lossWeighting, schedule);
    this.gradAcc = new Float32Array(layout.total);
    this.scratch = new Float32Array(layout.total);
  }

  /** Validates options, initialises weights (or restores a checkpoint) and starts the engine/workers. */
  static async create(o: TrainOptions): Promise<Trainer> {
    const r = resolveOptions(o);
    const spec = describeModel(r.config);
    const selected = r.trainableParameters
      ? parameterPatterns(
          r.trainableParameters,
          spec.decls.map((d) => d.name),
        )
      : undefined;
    if (selected && selected.unmatched.length > 0)
      invalid(
        `trainableParameters: no parameter matches ${selected.unmatched.map((p) => `"${p}"`).join(", ")}`,
      );
    const layout = createLayout(
      spec.decls,
      (n) => !(r.freezeTextEncoder && n.startsWith("text.")) && (selected?.matches(n) ?? true),
    );
    if (!layout.trainable.some(Boolean))
      invalid("no trainable parameter left (trainableParameters, freezeTextEncoder)");
    let master: Float32Array;
    let adam: AdamState;
    let step = 0;
    let ema: Float32Array | undefined;
    if (o.resumeFrom) {
      const ck = decodeCheckpoint(o.resumeFrom);
      if (canonicalJson(ck.header.config) !== canonicalJson(r.config)) {
        throw new KtoError("BAD_CHECKPOINT", "checkpoint was written for a different model config");
      }
      if (ck.header.seed !== r.seed)
        throw new KtoError("BAD_CHECKPOINT", `checkpoint seed ${ck.header.seed} differs from seed ${r.seed}`);
      checkCheckpointLayout(ck.header, layout);
      if (ck.header.ema?.decay !== r.emaDecay) {
        throw new KtoError(
          "BAD_CHECKPOINT",
          `checkpoint EMA decay ${ck.header.ema?.decay ?? "none"} differs from emaDecay ${r.emaDecay ?? "none"}`,
        );
      }
      master = ck.weights;
      adam = { m: ck.adamM, v: ck.adamV, t: ck.header.adam.t };
      step = ck.header.step;
      ema = ck.ema;
    } else {
      master = flattenWeights(layout, spec.decls, o.initialWeights ?? initWeights(spec.decls, r.seed));
      adam = createAdamState(layout.total);
      if (r.emaDecay !== undefined) ema = master.slice();
    }
    const reference =
      r.objective.needsReference && !o.referencePredictor
        ? o.reference
          ? flattenWeights(layout, spec.decls, o.reference)
          : invalid(`objective "${r.objective.name}" needs reference weights or a referencePredictor`)
        : undefined;
    const schedule = createSchedule(r.schedule);

    if (r.workers === 0) {
      const info = await initBackend(r.backend);
      const engine = new GradientEngine(
        r.config,
        layout,
        master,
        r.objective,
        r.objectiveOptions,
        reference,
        o.guidanceScale ?? 1,
      );
      return new Trainer(
        r,
        spec,
        layout,
        schedule,
        master,
        adam,
        step,
        engine,
        undefined,
        { name: info.backend, notes: info.notes },
        o.clock,
        r.objective.needsReference ? o.referencePredictor : undefined,
        ema,
      );
    }
    const pool = await GradientWorkerPool.start(
      {
        cfg: r.config,
        layout,
        objective: r.objective.name,
        objectiveOptions: r.objectiveOptions,
        backend: r.backend,
        ...(reference ? { reference } : {}),
        ...(o.guidanceScale !== undefined && o.guidanceScale !== 1 ? { guidance: o.guidanceScale } : {}),
      },
      master,
      { workers: r.workers, ...(o.workerUrl ? { workerUrl: o.workerUrl } : {}) },
    );
    // With workers the master copy is the shared buffer the workers read from.
    return new Trainer(
      r,
      spec,
      layout,
      schedule,
      pool.weights,
      adam,
      step,
      undefined,
      pool,
      { name: pool.backend, notes: pool.notes },
      o.clock,
      r.objective.needsReference ? o.referencePredictor : undefined,
      ema,
    );
  }

  /** Optimizer steps completed so far. */
  get step(): number {
    return this.stepCount;
  }

  /** The worker pool, when training data-parallel (exposed for crash tests and diagnostics). */
  get workerPool(): GradientWorkerPool | undefined {
    return this.pool;
  }

  /** Runs one optimizer step. Throws NON_FINITE_LOSS on NaN/∞, WORKER_CRASHED after exhausting restarts. */
  async runStep(): Promise<StepMetrics> {
    if (this.closed) throw new Error("Trainer used after close()");
    const { r } = this;
    let loss: number;
    let metrics: ObjectiveMetrics | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        ({ loss, metrics } = await this.accumulate());
        break;
      } catch (e) {
        if (
          !this.pool ||
          !(e instanceof KtoError) ||
          e.code !== "WORKER_CRASHED" ||
          attempt >= r.maxWorkerRestarts
        )
          throw e;
        await this.pool.restart(); // the master weights are intact: redo the step on fresh workers
        this.weightsDirty = true;
      }
    }
    const nextStep = this.stepCount + 1;
    const norm = globalNorm(this.layout, this.gradAcc);
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
      throw new KtoError(
        "NON_FINITE_LOSS",
        `loss became ${loss} (gradient norm ${norm}) at step ${nextStep}; weights left at step ${this.stepCount}`,
      );
    }
    const learningRate = learningRateAt(nextStep, r.learningRate, r.warmupSteps, r.learningRateDecay);
    const gradNorm = adamStep(this.layout, this.master, this.gradAcc, this.adam, {
      learningRate,
      maxNorm: r.maxGradNorm,
    });
    if (this.ema && r.emaDecay !== undefined) {
      const d = Math.min(r.emaDecay, (1 + nextStep) / (10 + nextStep));
      const ema = this.ema;
      const w = this.master;
      for (let i = 0; i < ema.length; i++) ema[i] = d * (ema[i] as number) + (1 - d) * (w[i] as number);
    }
    this.weightsDirty = true;
    this.stepCount = nextStep;
    return { step: nextStep, loss, gradNorm, learningRate, ...(metrics ? { objective: metrics } : {}) };
  }

  /**
   * Fills gradAcc with the batch-mean gradient of the current step; returns the batch-mean loss and, for
   * the alignment objectives, the step's metrics. Each accumulation micro-batch is split into shards
   * (one per engine call; DPO shards on pair boundaries). KTO's reference point z is a statistic of the
   * whole micro-batch (the official code all-reduces it across GPUs), so when the micro-batch is split,
   * or the variant needs rolled-prompt forwards, a forward-only pass gathers every sample's errors first,
   * z is computed here (batch-metrics.ts) and the gradient pass uses it as a constant.
   */
  private async accumulate(): Promise<{ loss: number; metrics?: ObjectiveMetrics }> {
    const { r } = this;
    const unit = r.pairs ? 2 : 1; // images per slot
    const micro = r.batchSize / unit / r.gradientAccumulation; // slots per micro-batch
    this.gradAcc.fill(0);
    let loss = 0;
    const parts: { size: number; metrics: ObjectiveMetrics }[] = [];
    const add = (grads: Float32Array, weight: number): void => {
      const acc = this.gradAcc;
      for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] ?? 0) + (grads[i] ?? 0) * weight;
    };
    for (let a = 0; a < r.gradientAccumulation; a++) {
      const from = a * micro;
      const shards: MicroBatch[] = [];
      for (const [s, e] of this.shardBounds(from, from + micro)) shards.push(await this.batch(s, e));
      // Copies: shard buffers are transferred to the workers.
      const shardLabels = shards.map((mb) => mb.labels?.slice());
      const labels = shardLabels.every((l) => l) ? concatFloat(shardLabels as Float32Array[]) : undefined;
      if (this.pool && this.weightsDirty) {
        this.weightsVersion++;
        this.weightsDirty = false;
      }
      if (this.engine && this.weightsDirty) {
        this.engine.setWeights(this.master);
        this.weightsDirty = false;
      }
      const z = await this.wholeBatchReferencePoint(shards, labels);
      const options = z === undefined ? undefined : { ...r.objectiveOptions, z };
      let results: { loss: number; stats: SampleStats }[];
      if (this.engine) {
        const engine = this.engine;
        results = shards.map((mb) => {
          const res = engine.compute(mb, this.scratch, options);
          add(this.scratch, mb.size / r.batchSize);
          return res;
        });
      } else if (this.pool) {
        const pool = this.pool;
        results = await pool.compute(shards, this.weightsVersion, options);
        shards.forEach((mb, i) => add(pool.grads[i] as Float32Array, mb.size / r.batchSize));
      } else {
        throw new Error("internal: no gradient engine");
      }
      shards.forEach((mb, i) => (loss += ((results[i]?.loss ?? Number.NaN) * mb.size) / r.batchSize));
      const name = r.objective.name;
      if (name === "kto" || name === "sft") {
        const size = shards.reduce((n, mb) => n + mb.size, 0);
        parts.push({
          size,
          metrics: objectiveMetricsOf(
            name,
            r.objectiveOptions,
            concatStats(results.map((x) => x.stats)),
            labels,
            z,
          ),
        });
      } else if (name === "dpo") {
        // Pairs are independent: per-shard metrics (each shard is [winners, losers]) combine exactly.
        shards.forEach((mb, i) =>
          parts.push({
            size: mb.size,
            metrics: objectiveMetricsOf(
              name,
              r.objectiveOptions,
              (results[i] as { stats: SampleStats }).stats,
              shardLabels[i],
            ),
          }),
        );
      }
    }
    return parts.length ? { loss, metrics: combineMetrics(parts) } : { loss };
  }

  /** Slot ranges [s, e) of the shards of micro-batch slots [from, to): one in-process, several with workers. */
  private shardBounds(from: number, to: number): [number, number][] {
    if (!this.pool) return [[from, to]];
    // Several shards per worker, handed out dynamically: a worker slowed by other load on its core takes
    // fewer (only when the micro-batch has room for shards of ≥ MIN_SHARD images).
    const unit = this.r.pairs ? 2 : 1;
    const n = to - from;
    const w = this.pool.size;
    const per = Math.min(
      Math.ceil(n / w),
      Math.max(Math.ceil(MIN_SHARD / unit), Math.ceil(n / (w * SHARDS_PER_WORKER))),
    );
    const out: [number, number][] = [];
    for (let s = from; s < to; s += per) out.push([s, Math.min(s + per, to)]);
    return out;
  }

  /**
   * KTO only: z over the whole micro-batch when it is split into shards or the variant is mismatched
   * (undefined: the objective computes z itself on its single shard). Shards are not consumed.
   */
  private async wholeBatchReferencePoint(
    shards: readonly MicroBatch[],
    labels: Float32Array | undefined,
  ): Promise<number | undefined> {
    const kto = this.kto;
    if (!kto || !labels) return undefined;
    const mismatched = kto.referencePoint === "mismatched" || kto.referencePoint === "mismatched-clamped";
    if (!mismatched && shards.length === 1) return undefined;
    if (mismatched) {
      // Image i gets the prompt of image i − 1 across the whole micro-batch (code `roll(c, 1, dim=0)`).
      const L = this.r.config.text.contextLength;
      const B = shards.reduce((n, mb) => n + mb.size, 0);
      const rolled = rollPrompts(concatInt(shards.map((mb) => mb.tokens)), B, L);
      let off = 0;
      const rolledShards: MicroBatch[] = [];
      for (const mb of shards) {
        const { epsRef: _stale, ...rest } = cloneMicroBatch(mb);
        rolledShards.push(
          await this.withReference({ ...rest, tokens: rolled.slice(off * L, (off + mb.size) * L) }),
        );
        off += mb.size;
      }
      return referencePointOf(
        kto.referencePoint,
        [],
        labels,
        concatStats(await this.sampleStats(rolledShards)),
      );
    }
    const g = implicitRewards(concatStats(await this.sampleStats(shards.map(cloneMicroBatch))));
    return referencePointOf(kto.referencePoint, g, labels);
  }

  /** Forward-only per-sample errors of shards with the current weights (the shards are consumed). */
  private async sampleStats(shards: MicroBatch[]): Promise<SampleStats[]> {
    if (this.engine) {
      const engine = this.engine;
      return shards.map((mb) => engine.sampleStats(mb));
    }
    if (!this.pool) throw new Error("internal: no gradient engine");
    return this.pool.sampleStats(shards, this.weightsVersion);
  }

  private async batch(from: number, to: number): Promise<MicroBatch> {
    const { r } = this;
    const common = {
      seed: r.seed,
      step: this.stepCount,
      from,
      to,
      promptDropout: r.promptDropout,
      order: this.order,
    };
    const mb = r.pairs
      ? makePairMicroBatch(r.data, r.pairs, r.config, this.schedule, {
          ...common,
          pairsPerStep: r.batchSize / 2,
        })
      : makeMicroBatch(r.data, r.config, this.schedule, {
          ...common,
          batchSize: r.batchSize,
          ...(this.lossWeights ? { weights: this.lossWeights } : {}),
        });
    return this.withReference(mb);
  }

  /** Attaches ε_ref from the reference predictor (when one is used). */
  private async withReference(mb: MicroBatch): Promise<MicroBatch> {
    if (!this.referencePredictor) return mb;
    const epsRef = await this.referencePredictor(mb);
    if (epsRef.length !== mb.xt.length)
      throw new Error(`referencePredictor returned ${epsRef.length} values for ${mb.xt.length}`);
    return { ...mb, epsRef: epsRef.slice() }; // own copy: it is transferred to a worker
  }

  /** Steps until `untilStep` (total), reporting progress; stops early (status "cancelled") when `signal` aborts. */
  async run(o: RunOptions): Promise<RunResult> {
    const losses: number[] = [];
    // Pace = mean of the last PACE_WINDOW step durations: the first (warm-up) steps are 3–4× slower.
    const recentMs: number[] = [];
    let last = this.clock?.();
    while (this.stepCount < o.untilStep) {
      if (o.signal?.aborted) return { status: "cancelled", step: this.stepCount, losses };
      const m = await this.runStep();
      losses.push(m.loss);
      const now = this.clock?.();
      if (now !== undefined && last !== undefined) {
        recentMs.push(now - last);
        if (recentMs.length > PACE_WINDOW) recentMs.shift();
      }
      last = now;
      if (o.onProgress) {
        const perStep = recentMs.length
          ? recentMs.reduce((a, b) => a + b, 0) / recentMs.length / 1000
          : undefined;
        o.onProgress({
          ...m,
          totalSteps: o.untilStep,
          imagesPerSecond: perStep === undefined || perStep <= 0 ? null : this.r.batchSize / perStep,
          etaSeconds: perStep === undefined ? null : perStep * (o.untilStep - this.stepCount),
        });
      }
      if (o.onCheckpoint && o.checkpointEvery && this.stepCount % o.checkpointEvery === 0) {
        await o.onCheckpoint(this.checkpoint(), this.stepCount);
      }
    }
    return { status: "completed", step: this.stepCount, losses };
  }

  /** Checkpoint bytes of the current state (see checkpoint.ts). */
  checkpoint(): Uint8Array {
    const { r } = this;
    const training: CheckpointTraining = {
      batchSize: r.batchSize,
      learningRate: r.learningRate,
      warmupSteps: r.warmupSteps,
      ...(r.learningRateDecay ? { learningRateDecay: r.learningRateDecay } : {}),
      maxGradNorm: r.maxGradNorm,
      gradientAccumulation: r.gradientAccumulation,
      promptDropout: r.promptDropout,
      objective: r.objective.name,
      objectiveOptions: r.objectiveOptions,
      freezeTextEncoder: r.freezeTextEncoder,
      ...(r.trainableParameters ? { trainableParameters: r.trainableParameters } : {}),
      ...(r.positiveRatio !== undefined ? { positiveRatio: r.positiveRatio } : {}),
      ...(r.pairs ? { pairs: r.pairs.length } : {}),
      ...(r.lossWeighting ? { lossWeighting: r.lossWeighting } : {}),
      ...(r.emaDecay !== undefined ? { emaDecay: r.emaDecay } : {}),
    };
    return encodeCheckpoint({
      header: {
        format: "likewise-checkpoint",
        version: 1,
        config: r.config,
        schedule: r.schedule,
        step: this.stepCount,
        seed: r.seed,
        rng: { kind: "split-seed", seed: r.seed, nextStep: this.stepCount },
        adam: { t: this.adam.t, ...DEFAULT_ADAM },
        training,
        tensors: this.layout.names.map((name, i) => ({
          name,
          shape: this.layout.shapes[i] ?? [],
          trainable: this.layout.trainable[i] ?? false,
        })),
        total: this.layout.total,
        ...(this.ema && r.emaDecay !== undefined ? { ema: { decay: r.emaDecay } } : {}),
      },
      weights: this.master,
      adamM: this.adam.m,
      adamV: this.adam.v,
      ...(this.ema ? { ema: this.ema } : {}),
    });
  }

  /** A copy of the current weights, by parameter name. */
  weights(): WeightMap {
    return unflattenWeights(this.layout, this.master);
  }

  /** A copy of the EMA weights (emaDecay), by parameter name; undefined without an EMA. */
  emaWeights(): WeightMap | undefined {
    return this.ema ? unflattenWeights(this.layout, this.ema) : undefined;
  }

  /** Disposes tensors / terminates workers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.engine?.dispose();
    await this.pool?.terminate();
  }
}

export type TrainResult = RunResult & {
  readonly weights: WeightMap;
  /** Checkpoint bytes at the final step (resume with `resumeFrom`). */
  readonly checkpoint: Uint8Array;
  readonly backend: { readonly name: string; readonly notes: readonly string[] };
};

/**
 * The objective of `weights` on a fixed held-out micro-batch (no gradients), on the current
 * tfjs backend: e.g. the denoising MSE before vs after training.
 */
export function evaluateLoss(
  cfg: ModelConfig,
  weights: WeightMap,
  batch: MicroBatch,
  o: { objective?: string | Objective; objectiveOptions?: ObjectiveOptions; reference?: WeightMap } = {},
): number {
  const spec = describeModel(cfg);
  const layout = createLayout(spec.decls, () => false);
  const objective = resolveObjective(o.objective ?? "mse");
  const engine = new GradientEngine(
    cfg,
    layout,
    flattenWeights(layout, spec.decls, weights),
    objective,
    o.objectiveOptions ?? {},
    o.reference ? flattenWeights(layout, spec.decls, o.reference) : undefined,
  );
  try {
    return engine.evaluate(batch);
  } finally {
    engine.dispose();
  }
}

/** A fixed evaluation batch: examples 0…n−1 of `set`, t spread evenly over the schedule, seeded ε, no dropout. */
export function evaluationBatch(
  set: TrainingSet,
  cfg: ModelConfig,
  n: number,
  seed: number,
  scheduleSpec: ScheduleSpec = DEFAULT_SCHEDULE,
): MicroBatch {
  const schedule = createSchedule(scheduleSpec);
  const order = { at: (p: number) => p % set.size }; // examples 0…n−1 in order
  const mb = makeMicroBatch(set, cfg, schedule, {
    seed,
    step: 0,
    batchSize: n,
    from: 0,
    to: n,
    promptDropout: 0,
    order,
  });
  const T = schedule.alphasCumprod.length;
  const t = new Int32Array(n).map((_v, i) => Math.floor(((i + 0.5) * T) / n));
  const P = cfg.imageSize * cfg.imageSize * 3;
  const x0 = new Float32Array(n * P);
  for (let i = 0; i < n; i++)
    x0.set(set.images.subarray((i % set.size) * P, ((i % set.size) + 1) * P), i * P);
  return { ...mb, t: Float32Array.from(t), xt: addNoise(x0, mb.eps, t, schedule.alphasCumprod) };
}

/** One-call training: create → run to `steps` → weights + checkpoint → close. */
export async function train(
  o: TrainOptions & Omit<RunOptions, "untilStep"> & { readonly steps: number },
): Promise<TrainResult> {
  const trainer = await Trainer.create(o);
  try {
    const res = await trainer.run({ ...o, untilStep: o.steps });
    return { ...res, weights: trainer.weights(), checkpoint: trainer.checkpoint(), backend: trainer.backend };
  } finally {
    await trainer.close();
  }
}

function concatFloat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function concatInt(parts: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
