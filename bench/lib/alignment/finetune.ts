// One fine-tune of the alignment benchmark: a method (objective + options) from a parent model version on a label
// set, exactly as an alignment round trains (apps/trainer's round config defaults and objectiveSetup, packages/kto's
// Trainer, the frozen parent as reference in ONNX Runtime), then the ONNX export with its parity gate into a model
// version folder the serving sampler loads.
import {
  averageWeights,
  createSchedule,
  exportVerifiedOnnx,
  guidedReferencePredictor,
  isTrainableSubset,
  Trainer,
  TRAINABLE_SUBSETS,
  type TrainableSubset,
  type WeightMap,
} from "@likewise/kto";
import { loadModel, type LoadedModel } from "@likewise/serving";

import {
  readModelVersion,
  writeModelVersion,
  type TrainingRecord,
} from "../../../apps/trainer/src/artifact.ts";
import { parseRoundConfig, type RoundConfig } from "../../../apps/trainer/src/rounds/config.ts";
import { objectiveSetup, trainableOption } from "../../../apps/trainer/src/rounds/runner.ts";
import { likedCount, trainingData, type LabelSet } from "./labels.ts";

/** The compared methods. KTO variants differ only in the utility; SFT trains on the liked images only. */
export const METHODS = ["kto", "sft", "dpo", "loss-averse", "risk-seeking"] as const;
export type Method = (typeof METHODS)[number];

export const METHOD_LABELS: Readonly<Record<Method | "base", string>> = {
  base: "base model",
  kto: "Diffusion-KTO (σ)",
  sft: "SFT (liked only)",
  dpo: "Diffusion-DPO",
  "loss-averse": "KTO loss-averse (log σ)",
  "risk-seeking": "KTO risk-seeking (−log σ(−x))",
};

export type Budget = {
  steps: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  workers: number;
  /** β of KTO and DPO (the round default, the paper's 5000, when absent). */
  beta?: number;
  /** KTO on (liked, disliked) pairs of one prompt with shared t and ε (round config `pairedSampling`). */
  pairedSampling?: boolean;
  /** KTO's positive ratio γ, the desirable share of each batch (the round default, the paper's 0.8, when absent). */
  positiveRatio?: number;
  /** Share of training prompts replaced by the empty prompt (the round default, 0.2, when absent). */
  promptDropout?: number;
  /** Fine-tune the guided prediction at this scale (round config `trainingGuidance`; the round default, 1, when absent). */
  trainingGuidance?: number;
  /** Bench-only (not round options): cosine learning-rate decay to 0 at the last step after warm-up … */
  cosine?: boolean;
  /** … and keep an EMA of the weights with this decay (packages/kto Trainer `emaDecay`), exported instead of the last iterate. */
  emaDecay?: number;
  /** Train only this subset of the UNet (round config `trainable`, a TRAINABLE_SUBSETS key; default: all of it). */
  trainable?: TrainableSubset;
};

/** The parameter subsets of packages/kto (a fine-tune's `trainable`), re-exported for the bench's options. */
export { isTrainableSubset, TRAINABLE_SUBSETS, type TrainableSubset };

/** The round config of a method: the round defaults (β 5000, γ 0.8, batch reference point, prompt dropout 0.2…)
 * with the method's objective/utility and the shared budget. */
export function methodConfig(method: Method, budget: Budget, seed: number): RoundConfig {
  const { cosine: _cosine, emaDecay: _emaDecay, ...round } = budget;
  const objective = method === "sft" ? "sft" : method === "dpo" ? "dpo" : "kto";
  const utility =
    method === "loss-averse" ? "loss-averse" : method === "risk-seeking" ? "risk-seeking" : "sigmoid";
  return parseRoundConfig({ objective, ...(objective === "kto" ? { utility } : {}), ...round, seed });
}

export type Parent = {
  dir: string;
  id: string;
  onnx: LoadedModel;
  version: Awaited<ReturnType<typeof readModelVersion>>;
};

export async function openParent(dir: string, servingThreads: number): Promise<Parent> {
  const version = await readModelVersion(dir);
  const onnx = await loadModel(dir, { intraOpNumThreads: servingThreads });
  return { dir, id: version.manifest.id, onnx, version };
}

export type TrainingSummary = {
  method: Method;
  seed: number;
  labels: number;
  liked: number;
  /** DPO: pairs built from the labels; SFT: liked images trained on. */
  examples: number;
  steps: number;
  batchSize: number;
  wallMs: number;
  exportMs: number;
  finalLoss: number;
  finalRewardAccuracy: number | null;
  finalZ: number | null;
};

export type FineTuned = { dir: string; id: string; weights: WeightMap; summary: TrainingSummary };

/**
 * Trains `method` from `parent` on `set` for budget.steps × budget.batchSize and writes the result to `outDir` as a
 * model version (id `id`). Throws with the reason when the labels cannot feed the method (no liked image for SFT,
 * no prompt with both a liked and a disliked image for DPO).
 */
export async function fineTune(
  parent: Parent,
  set: LabelSet,
  method: Method,
  budget: Budget,
  o: {
    seed: number;
    outDir: string;
    id: string;
    onStep?: (step: number, total: number, loss: number) => void;
  },
): Promise<FineTuned> {
  const config = methodConfig(method, budget, o.seed);
  const { config: modelConfig, manifest, weights: parentWeights } = parent.version;
  const liked = likedCount(set);
  if (method === "sft" && liked === 0) throw new Error("sft: no liked image among the labels");
  const data = trainingData(set, manifest.vocab, modelConfig.text.contextLength, method === "sft");
  const { objectiveOptions, extra } = objectiveSetup(config, data);
  const examples = method === "dpo" ? ((extra.pairs as unknown[] | undefined)?.length ?? 0) : data.size;
  const ref = parent.onnx;
  const referencePredictor = guidedReferencePredictor(
    (b) =>
      ref.host.forward({
        batch: b.size,
        tokens: BigInt64Array.from(b.tokens, (v) => BigInt(v)),
        x: b.xt,
        t: b.t,
      }),
    config.trainingGuidance,
  );
  const schedule = {
    kind: manifest.schedule.kind === "linear" ? ("linear" as const) : ("cosine" as const),
    steps: manifest.schedule.timesteps,
  };
  const started = performance.now();
  const trainer = await Trainer.create({
    config: modelConfig,
    data: { size: data.size, tokens: data.tokens, images: data.images, labels: data.labels },
    seed: config.seed,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    warmupSteps: config.warmupSteps,
    ...(budget.cosine ? { learningRateDecay: { totalSteps: config.steps, finalRatio: 0 } } : {}),
    ...(budget.emaDecay !== undefined ? { emaDecay: budget.emaDecay } : {}),
    ...trainableOption(config),
    maxGradNorm: 1,
    promptDropout: config.promptDropout,
    schedule,
    objective: config.objective,
    objectiveOptions,
    initialWeights: parentWeights,
    referencePredictor,
    freezeTextEncoder: true,
    guidanceScale: config.trainingGuidance,
    workers: config.workers,
    clock: () => performance.now(),
    ...extra,
  });
  const tail: Array<{ loss: number; acc: number | null; z: number | null }> = [];
  const tailLength = Math.max(1, Math.floor(config.steps / 10));
  let weights: WeightMap;
  try {
    await trainer.run({
      untilStep: config.steps,
      onProgress: (m) => {
        tail.push({
          loss: m.loss,
          acc: m.objective?.rewardAccuracy ?? null,
          z: m.objective?.referencePoint ?? null,
        });
        if (tail.length > tailLength) tail.shift();
        o.onStep?.(m.step, config.steps, m.loss);
      },
    });
    weights = trainer.emaWeights() ?? trainer.weights();
  } finally {
    await trainer.close();
  }
  const wallMs = Math.round(performance.now() - started);
  const meanOf = (k: "loss" | "acc" | "z") => {
    const xs = tail.map((t) => t[k]).filter((v): v is number => v !== null && Number.isFinite(v));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  };
  const e0 = performance.now();
  await writeFineTuned(parent, weights, {
    outDir: o.outDir,
    id: o.id,
    training: {
      command: `pnpm bench alignment (${method})`,
      seed: config.seed,
      steps: config.steps,
      batchSize: config.batchSize,
      learningRate: config.learningRate,
      wallTimeSec: Math.round(wallMs / 1000),
      finalLoss: meanOf("loss") ?? Number.NaN,
      backend: "tfjs",
      workers: config.workers,
      objective: config.objective,
      labels: set.labels.length,
    },
  });
  return {
    dir: o.outDir,
    id: o.id,
    weights,
    summary: {
      method,
      seed: config.seed,
      labels: set.labels.length,
      liked,
      examples,
      steps: config.steps,
      batchSize: config.batchSize,
      wallMs,
      exportMs: Math.round(performance.now() - e0),
      finalLoss: meanOf("loss") ?? Number.NaN,
      finalRewardAccuracy: meanOf("acc"),
      finalZ: meanOf("z"),
    },
  };
}

/** Exports `weights` (a child of `parent`) to ONNX with the parity gate and writes the model version folder `outDir`. */
export async function writeFineTuned(
  parent: Parent,
  weights: WeightMap,
  o: { outDir: string; id: string; training: TrainingRecord },
): Promise<void> {
  const { config: modelConfig, manifest } = parent.version;
  const { bytes, parity } = await exportVerifiedOnnx(modelConfig, weights, {
    producerVersion: "likewise-bench-alignment",
  });
  const schedule = {
    kind: manifest.schedule.kind === "linear" ? ("linear" as const) : ("cosine" as const),
    steps: manifest.schedule.timesteps,
  };
  await writeModelVersion(o.outDir, {
    id: o.id,
    parent: parent.id,
    config: modelConfig,
    vocab: manifest.vocab,
    schedule: createSchedule(schedule),
    weights,
    onnx: bytes,
    parity: { maxAbs: parity.maxAbs, relL2: parity.relL2 },
    training: o.training,
  });
}

/**
 * Averages fine-tunes of one parent on one label set (a model soup, packages/kto averageWeights) and writes the mean
 * weights as a model version, its training record taken from the members (the first one's seed and loss, the summed
 * wall time).
 */
export async function writeSoup(
  parent: Parent,
  members: readonly FineTuned[],
  o: { outDir: string; id: string; command: string; method: Method; budget: Budget },
): Promise<void> {
  const first = members[0]?.summary;
  const seed = first?.seed ?? 1;
  await writeFineTuned(parent, averageWeights(members.map((m) => m.weights)), {
    outDir: o.outDir,
    id: o.id,
    training: {
      command: o.command,
      seed,
      steps: first?.steps ?? o.budget.steps,
      batchSize: first?.batchSize ?? o.budget.batchSize,
      learningRate: o.budget.learningRate,
      wallTimeSec: Math.round(members.reduce((a, m) => a + m.summary.wallMs, 0) / 1000),
      finalLoss: first?.finalLoss ?? Number.NaN,
      backend: "tfjs",
      workers: o.budget.workers,
      objective: methodConfig(o.method, o.budget, seed).objective,
      labels: first?.labels ?? 0,
    },
  });
}

/** A fine-tuned model as the next round's parent (its weights in tfjs, its ONNX graph as the reference). */
export async function asParent(m: FineTuned, servingThreads: number): Promise<Parent> {
  return openParent(m.dir, servingThreads);
}
