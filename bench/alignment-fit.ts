// `pnpm bench alignment-fit`: does a fine-tune improve the model on the very captions it was trained on? The
// alignment benchmark's labels (the same base, training prompts, sampler and votes), optionally with oracle labels
// (each caption's likes given to its images of highest true P(like)); each fine-tune spec trains on them with the
// benchmark's budget, then the base and every fine-tune draw fresh images (new sampler seeds) for the training
// captions, and the rater population's P(like) is compared, paired on the same captions and seeds. This separates
// "the labels teach too little" and "it does not generalise to held-out prompts" from "fine-tuning costs more than it
// teaches" (BENCHMARKS.md, alignment notes, session 18).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { loadModel, MAX_REWARD_GUIDANCE, rewardGuidedModel } from "@likewise/serving";
import { evaluationPrompts } from "@likewise/synth";

import { evaluateModel, type EvaluableModel } from "../apps/trainer/src/evaluate.ts";
import {
  featureHeadroom,
  voteEvidence,
  type HeadroomRow,
  type VoteEvidence,
} from "./lib/alignment/evidence.ts";
import {
  fineTune,
  isTrainableSubset,
  METHODS,
  openParent,
  TRAINABLE_SUBSETS,
  writeSoup,
  type Budget,
  type Method,
} from "./lib/alignment/finetune.ts";
import { collectLabels, oracleLabels, worldSet } from "./lib/alignment/labels.ts";
import { DEFAULTS, int, numberOf, parseFlags, raterOf, UsageError } from "./lib/alignment/options.ts";
import { SEEDS } from "./lib/alignment/pipeline.ts";
import { evidenceSection } from "./lib/alignment/report.ts";
import { meanInterval, pairedDifference, type Interval } from "./lib/alignment/stats.ts";
import { RESULTS_DIR, writeResult } from "./lib/results.ts";

const USAGE = `pnpm bench alignment-fit [--oracle-labels] [--specs sft,kto,sft:lr=1e-5,sft:dropout=0,sft:guidance=3,sft:steps=600,sft:batch=64,kto:cosine=1,kto:ema=0.99,kto:gamma=0.5,kto:paired=1,kto:seed=2,dpo:soup=3,kto:train=attn,sft:all=1,sft:world=1]
  [--labels N] [--reward-guidance W1,W2,…] [--images-per-caption I] [--train-prompts P] [--raters <preset|file.json>] [--sampling-steps S] [--model dir] [--out dir]`;

/** Fresh sampler seeds for the training-caption evaluation (the labels use SEEDS.labelImages onwards). */
const FIT_SEED = 5_000_000;
/** Dataset seed of the world renders of `world=1` specs (the base was pretrained on seed 1's examples). */
const WORLD_SEED = 6_000_000;

/**
 * What an SFT spec trains on: `labels` (the liked images), `all` (key all=1: every labelled image, labels ignored —
 * the cost of self-training alone) or `world` (key world=1: as many fresh draws of the pretraining distribution, flaws
 * and all — the cost of any further training at this budget, with nothing of the base's own images in it).
 */
export type FitData = "labels" | "all" | "world";
/**
 * `seed` is the fine-tune's training seed (batch order, timesteps, noise; key seed=N, default 1); `soup` (key soup=K,
 * default 1): train seeds seed … seed+K−1 and score the mean of their weights (averageWeights).
 */
export type FitSpec = {
  spec: string;
  method: Method;
  budget: Budget;
  data: FitData;
  seed: number;
  soup: number;
};

/** "sft:lr=1e-5:dropout=0" → the method and the benchmark's budget with those overrides. */
export function parseSpec(spec: string): FitSpec {
  const [method, ...kv] = spec.split(":");
  if (!(METHODS as readonly string[]).includes(method ?? ""))
    throw new UsageError(`--specs: unknown method "${method}" in "${spec}" (${METHODS.join(", ")})`);
  const budget: Budget = {
    steps: DEFAULTS.steps,
    batchSize: DEFAULTS.batch,
    learningRate: DEFAULTS.lr,
    warmupSteps: DEFAULTS.warmup,
    workers: 0,
  };
  let data: FitData = "labels";
  let seed = 1;
  let soup = 1;
  for (const pair of kv) {
    const [key, raw] = pair.split("=");
    if (key === "train") {
      if (!raw || !isTrainableSubset(raw))
        throw new UsageError(
          `--specs: "${pair}" in "${spec}": train must be one of ${Object.keys(TRAINABLE_SUBSETS).join(", ")}`,
        );
      budget.trainable = raw;
      continue;
    }
    const value = raw === undefined ? Number.NaN : numberOf(raw);
    if (!Number.isFinite(value)) throw new UsageError(`--specs: "${pair}" in "${spec}" must be key=number`);
    if (key === "lr" && value > 0 && value <= 1) budget.learningRate = value;
    else if (key === "dropout" && value >= 0 && value < 1) budget.promptDropout = value;
    else if (key === "guidance" && value >= 1 && value <= 30) budget.trainingGuidance = value;
    else if ((key === "all" || key === "world") && (value === 0 || value === 1) && method === "sft") {
      if (value === 1 && data !== "labels")
        throw new UsageError(`--specs: "${spec}" asks for both all=1 and world=1; pick one`);
      if (value === 1) data = key;
    } else if (key === "batch" && Number.isInteger(value) && value >= 1 && value <= 256)
      budget.batchSize = value;
    else if (key === "gamma" && value > 0 && value < 1 && method !== "sft" && method !== "dpo")
      budget.positiveRatio = value;
    else if (key === "paired" && (value === 0 || value === 1) && method !== "sft" && method !== "dpo")
      budget.pairedSampling = value === 1;
    else if (key === "cosine" && (value === 0 || value === 1)) budget.cosine = value === 1;
    else if (key === "ema" && value > 0 && value < 1) budget.emaDecay = value;
    else if (key === "seed" && Number.isInteger(value) && value >= 0 && value <= 2 ** 31 - 1) seed = value;
    else if (key === "soup" && Number.isInteger(value) && value >= 1 && value <= 16) soup = value;
    else if (key === "steps" && Number.isInteger(value) && value >= 1 && value <= 100_000) {
      budget.steps = value;
      budget.warmupSteps = Math.min(DEFAULTS.warmup, Math.floor(value / 5));
    } else
      throw new UsageError(
        `--specs: "${pair}" in "${spec}": expected lr in (0, 1], dropout in [0, 1), guidance in [1, 30], steps ≥ 1, batch in [1, 256], cosine=0|1, ema in (0, 1), seed a non-negative integer, soup an integer in [1, 16], (KTO variants) gamma in (0, 1), paired=0|1 or (sft only) all=0|1, world=0|1`,
      );
  }
  if (budget.pairedSampling && budget.positiveRatio !== undefined)
    throw new UsageError(`--specs: "${spec}": paired=1 balances the classes by construction; drop gamma`);
  return { spec, method: method as Method, budget, data, seed, soup };
}

export type FitResult = {
  oracleLabels: boolean;
  /** The rater source as given (a preset name or a spec file's path) and the spec's name. */
  raters: { source: string; name: string };
  labels: number;
  liked: number;
  /** Training prompt slots (a balanced prompt set; the unit the scores are paired on). */
  trainPrompts: number;
  /** Distinct captions among the labels. */
  captions: number;
  imagesPerCaption: number;
  base: Interval;
  /** What the votes (not the oracle labels) can teach, and the labelled images' headroom (evidence.ts). */
  evidence: VoteEvidence;
  headroom: HeadroomRow[];
  rows: Array<{ spec: string; likeProbability: Interval; delta: Interval }>;
};

export default async function main(argv: string[]): Promise<FitResult | undefined> {
  let o: Awaited<ReturnType<typeof options>>;
  try {
    o = await options(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${e.message}\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  const base = await openParent(o.model, DEFAULTS.threads);
  const work = await mkdtemp(join(tmpdir(), "likewise-alignment-fit-"));
  try {
    log(`labels: ${o.labels} images of ${base.id} on ${o.trainPrompts} training prompts`);
    const votes = await collectLabels(base.onnx, {
      prompts: o.trainPrompts,
      promptSeed: SEEDS.trainPrompts,
      count: o.labels,
      seed: SEEDS.labelImages,
      samplingSteps: o.samplingSteps,
      eta: DEFAULTS.eta,
      guidanceScale: DEFAULTS.guidance,
      rater: o.rater,
      voteSeed: SEEDS.labelVotes,
      exclude: new Set(evaluationPrompts(DEFAULTS.evalPrompts).map((p) => p.caption)),
    });
    const labels = o.oracle ? oracleLabels(votes) : votes;
    const liked = labels.labels.reduce((a, y) => a + (y > 0 ? 1 : 0), 0);
    const captions = new Set(labels.prompts).size;
    // Mean P(like) per training prompt slot over fresh sampler seeds, in slot order: the unit of pairing.
    const score = async (m: EvaluableModel): Promise<number[]> => {
      const { prompts } = await evaluateModel(m, {
        prompts: o.trainPrompts,
        promptSeed: SEEDS.trainPrompts,
        imagesPerPrompt: o.images,
        seed: FIT_SEED,
        steps: o.samplingSteps,
        eta: DEFAULTS.eta,
        guidanceScale: DEFAULTS.guidance,
        rater: o.rater,
      });
      return prompts.map(
        (p) => p.likeProbabilities.reduce((a, b) => a + b, 0) / Math.max(1, p.likeProbabilities.length),
      );
    };
    log(`scoring ${base.id} on the ${o.trainPrompts} training prompts × ${o.images} fresh images`);
    const baseScores = await score(base.onnx);
    const rows: FitResult["rows"] = [];
    for (const [k, s] of o.specs.entries()) {
      log(
        `fine-tuning ${s.spec}: ${s.budget.steps} steps × ${s.budget.batchSize}, lr ${s.budget.learningRate}`,
      );
      const set =
        s.data === "all"
          ? { ...labels, labels: new Float32Array(labels.labels.length).fill(1) }
          : s.data === "world"
            ? worldSet(labels.labels.length, WORLD_SEED, base.version.manifest.imageSize)
            : labels;
      const fits = [];
      for (let j = 0; j < s.soup; j++)
        fits.push(
          await fineTune(base, set, s.method, s.budget, {
            seed: s.seed + j,
            outDir: join(work, `fit-${k}-${j}`),
            id: `fit-${k}-${j}`,
          }),
        );
      let dir = fits[0]?.dir ?? "";
      if (s.soup > 1) {
        dir = join(work, `fit-${k}-soup`);
        await writeSoup(base, fits, {
          outDir: dir,
          id: `fit-${k}-soup`,
          command: `pnpm bench alignment-fit (${s.spec}: mean of ${s.soup} seeds' weights)`,
          method: s.method,
          budget: s.budget,
        });
      }
      const model = await loadModel(dir, { intraOpNumThreads: DEFAULTS.threads });
      try {
        // As trained, then sampled with reward guidance against the base at each requested weight.
        for (const w of [1, ...o.rewardGuidance.filter((x) => x !== 1)]) {
          const spec = w === 1 ? s.spec : `${s.spec}@w${w}`;
          const scores = await score(w === 1 ? model : rewardGuidedModel(base.onnx, model, w));
          rows.push({
            spec,
            likeProbability: meanInterval(scores),
            delta: pairedDifference(scores, baseScores),
          });
          const d = rows[rows.length - 1]?.delta;
          log(
            `${spec}: Δ P(like) ${((d?.mean ?? 0) * 100).toFixed(2)} ± ${((d?.half ?? 0) * 100).toFixed(2)} pt`,
          );
        }
      } finally {
        await model.host.release();
      }
    }
    const result: FitResult = {
      oracleLabels: o.oracle,
      raters: { source: o.raterSource, name: o.rater.name },
      labels: labels.labels.length,
      liked,
      trainPrompts: o.trainPrompts,
      captions,
      imagesPerCaption: o.images,
      base: meanInterval(baseScores),
      evidence: voteEvidence(votes),
      headroom: featureHeadroom(votes, o.rater),
      rows,
    };
    const pct = (x: number) => (100 * x).toFixed(1);
    console.log(
      `${o.oracle ? "Oracle" : "Voted"} labels (${liked} of ${result.labels} liked); P(like) on the ${o.trainPrompts} training prompts (${captions} distinct captions) × ${o.images} fresh images, base ${pct(result.base.mean)}%:`,
    );
    console.log("| fine-tune | P(like) % | Δ vs base (pt, paired on captions) |\n|---|---|---|");
    for (const r of rows)
      console.log(
        `| ${r.spec} | ${pct(r.likeProbability.mean)} | ${r.delta.mean >= 0 ? "+" : ""}${pct(r.delta.mean)} ± ${pct(r.delta.half)} |`,
      );
    console.log(`\n${evidenceSection(result.evidence, result.headroom, result.labels) ?? ""}`);
    writeResult(o.oracle ? "alignment-fit-oracle" : "alignment-fit", result, o.out);
    return result;
  } finally {
    await base.onnx.host.release().catch(() => {});
    await rm(work, { recursive: true, force: true });
  }
}

async function options(argv: string[]) {
  const values = parseFlags(argv, {
    "oracle-labels": { type: "boolean", default: false },
    raters: { type: "string" },
    "train-prompts": { type: "string" },
    "sampling-steps": { type: "string" },
    out: { type: "string" },
    specs: { type: "string" },
    labels: { type: "string" },
    "reward-guidance": { type: "string" },
    "images-per-caption": { type: "string" },
    model: { type: "string" },
  });
  const s = (k: string) => values[k] as string | undefined;
  const specs = (s("specs") ?? "sft,kto").split(",").map((x) => parseSpec(x.trim()));
  return {
    oracle: values["oracle-labels"] === true,
    specs,
    labels: int("labels", s("labels"), DEFAULTS.labels, 16, 200_000),
    rewardGuidance: (s("reward-guidance") ?? "")
      .split(",")
      .filter((x) => x.trim() !== "")
      .map((x) => {
        const w = numberOf(x);
        if (!(Number.isFinite(w) && w >= 0 && w <= MAX_REWARD_GUIDANCE))
          throw new UsageError(
            `--reward-guidance: "${x}" must be a weight in [0, ${MAX_REWARD_GUIDANCE}] (1 = the fine-tune as trained)`,
          );
        return w;
      }),
    images: int("images-per-caption", s("images-per-caption"), 2, 1, 16),
    model: s("model") ?? DEFAULTS.model,
    raterSource: s("raters") ?? DEFAULTS.raters,
    rater: await raterOf(s("raters") ?? DEFAULTS.raters),
    trainPrompts: int("train-prompts", s("train-prompts"), DEFAULTS.trainPrompts, 2, 10_000),
    samplingSteps: int("sampling-steps", s("sampling-steps"), DEFAULTS.samplingSteps, 10, 100),
    out: s("out") ?? RESULTS_DIR,
  };
}
