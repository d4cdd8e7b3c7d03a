// Command-line options of `pnpm bench alignment`, validated with messages that name the flag. The defaults are sized
// to finish the whole benchmark within an hour on the shared 2-core machine (see BENCHMARKS.md, "Alignment"): under
// the load of other jobs a KTO step of batch 16 with the ONNX Runtime reference took 1.7–2.7 s and sampling ~0.2 s per
// image, so 8 fine-tunes × 120 steps and ~4,000 sampled images is what fits; lr 5e-5 (round default 2e-5 for
// 200 steps) to move the model within 120 steps.
import { existsSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";

import { MAX_REWARD_GUIDANCE } from "@likewise/serving";
import { type RaterSpec } from "@likewise/synth";

import { CliError } from "../../../apps/trainer/src/cli/errors.ts";
import { POOL_SAMPLING } from "../../../apps/trainer/src/sampling.ts";
import { readRaterSpec } from "../../../apps/trainer/src/cli/simulate.ts";

import { isTrainableSubset, METHODS, TRAINABLE_SUBSETS, type Budget, type Method } from "./finetune.ts";

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `pnpm bench alignment [--raters <preset|file.json>] [--labels N] [--seeds K] [--json]
  [--steps S] [--batch B] [--lr X] [--warmup W] [--beta X] [--prompt-dropout P] [--training-guidance G] [--rounds R] [--round-steps S] [--methods kto,sft,dpo,loss-averse,risk-seeking]
  [--train-prompts P] [--eval-prompts P] [--eval-images I] [--sampling-steps S] [--eta E] [--guidance G]
  [--soups kto,sft,dpo|none] [--soup-guidance W1,W2,…|none] [--trainable all|attn|bitfit|up]
  [--model dir] [--workers W] [--threads T] [--out dir] [--benchmarks file|none] [--oracle-labels]`;

export const DEFAULTS = {
  raters: "default",
  labels: 2000,
  // Training seeds: runs of one method on the same labels differ by up to ~2 points of P(like) between seeds, more
  // than one run's interval over cells (BENCHMARKS alignment notes, session 20); three seeds still fit the 60 minutes.
  seeds: 3,
  steps: 120,
  batch: 16,
  lr: 5e-5,
  beta: 5000,
  warmup: 20,
  rounds: 3,
  trainPrompts: 250,
  evalPrompts: 32,
  evalImages: 5,
  // Labels and evaluations are drawn the way users' images are (the served sampler), so the benchmark trains on and
  // measures what the platform would.
  samplingSteps: POOL_SAMPLING.steps,
  eta: POOL_SAMPLING.eta,
  guidance: POOL_SAMPLING.guidanceScale,
  // Model soups (the mean of a method's K seeds' weights, packages/kto averageWeights), each also sampled with reward
  // guidance against the base at these weights (packages/serving rewardGuidedModel): evaluations only, no training.
  soups: ["kto", "sft", "dpo"] as readonly Method[],
  soupGuidance: [2] as readonly number[],
  model: "models/base",
  workers: 0,
  threads: 2,
} as const;

export type CliOptions = {
  rater: RaterSpec;
  ratersSource: string;
  labels: number;
  seeds: number;
  budget: Budget;
  rounds: number;
  roundBudget: Budget;
  methods: Method[];
  /** Methods whose K seeds' weights are averaged into a soup and evaluated (empty: none; needs K ≥ 2). */
  soups: Method[];
  /** Reward-guidance weights each soup is also sampled at (ε_ref + w·(ε_soup − ε_ref)); empty: none. */
  soupGuidance: number[];
  trainPrompts: number;
  evalPrompts: number;
  evalImagesPerPrompt: number;
  samplingSteps: number;
  /** DDIM η of every sampled image: 0 deterministic, 1 ancestral. */
  eta: number;
  guidanceScale: number;
  modelDir: string;
  servingThreads: number;
  json: boolean;
  /** Diagnostic: likes reassigned per caption to the images of highest true P(like). */
  oracleLabels: boolean;
  /** Output folder (default bench/results). */
  out: string | null;
  /** BENCHMARKS.md to update ("none" = do not); default: BENCHMARKS.md only when --out is the default. */
  benchmarks: string | null;
};

/** An integer option in [min, max], the fallback when absent; a UsageError naming the flag otherwise. */
export function int(
  flag: string,
  v: string | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (v === undefined) return fallback;
  const n = numberOf(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${flag} must be an integer in [${min}, ${max}], got "${v}"`);
  return n;
}

function num(flag: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const n = numberOf(v);
  if (!Number.isFinite(n) || n <= min || n > max)
    throw new UsageError(`--${flag} must be a number in (${min}, ${max}], got "${v}"`);
  return n;
}

/** A number in the closed range [min, max]; undefined when the option is absent. */
function closed(flag: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = numberOf(v);
  if (!(n >= min && n <= max))
    throw new UsageError(`--${flag} must be a number in [${min}, ${max}], got "${v}"`);
  return n;
}

/** Number(v), except that a blank value is NaN rather than 0. */
export function numberOf(v: string): number {
  return v.trim() === "" ? Number.NaN : Number(v);
}

/** `--raters`: the trainer CLI's reader (presets, or a spec file with every refusal named), as a UsageError. */
export async function raterOf(value: string): Promise<RaterSpec> {
  try {
    return await readRaterSpec(value);
  } catch (e) {
    if (e instanceof CliError) throw new UsageError(e.message);
    throw e;
  }
}

/** node:util parseArgs in strict mode, an unknown or malformed flag turned into a UsageError. */
export function parseFlags(
  argv: string[],
  options: ParseArgsConfig["options"],
): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: argv, strict: true, options }).values;
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

export async function parseOptions(argv: string[]): Promise<CliOptions> {
  const values = parseFlags(argv, {
    raters: { type: "string" },
    labels: { type: "string" },
    seeds: { type: "string" },
    json: { type: "boolean", default: false },
    steps: { type: "string" },
    batch: { type: "string" },
    lr: { type: "string" },
    beta: { type: "string" },
    "prompt-dropout": { type: "string" },
    "training-guidance": { type: "string" },
    warmup: { type: "string" },
    rounds: { type: "string" },
    "round-steps": { type: "string" },
    methods: { type: "string" },
    "train-prompts": { type: "string" },
    "eval-prompts": { type: "string" },
    "eval-images": { type: "string" },
    "sampling-steps": { type: "string" },
    eta: { type: "string" },
    guidance: { type: "string" },
    model: { type: "string" },
    workers: { type: "string" },
    threads: { type: "string" },
    out: { type: "string" },
    benchmarks: { type: "string" },
    "oracle-labels": { type: "boolean", default: false },
    soups: { type: "string" },
    "soup-guidance": { type: "string" },
    trainable: { type: "string" },
  });
  const s = (k: string) => values[k] as string | undefined;
  const ratersSource = s("raters") ?? DEFAULTS.raters;
  const rater = await raterOf(ratersSource);
  const labels = int("labels", s("labels"), DEFAULTS.labels, 6, 200_000);
  const seeds = int("seeds", s("seeds"), DEFAULTS.seeds, 1, 20);
  const batchSize = int("batch", s("batch"), DEFAULTS.batch, 2, 256);
  if (batchSize % 2 !== 0)
    throw new UsageError(`--batch must be even (DPO takes batch/2 pairs), got ${batchSize}`);
  const steps = int("steps", s("steps"), DEFAULTS.steps, 1, 100_000);
  const learningRate = num("lr", s("lr"), DEFAULTS.lr, 0, 1);
  const beta = num("beta", s("beta"), DEFAULTS.beta, 0, 1e9);
  // Absent: the round default (0.2).
  const dropoutText = s("prompt-dropout");
  const promptDropout = dropoutText === undefined ? undefined : numberOf(dropoutText);
  if (promptDropout !== undefined && !(promptDropout >= 0 && promptDropout < 1))
    throw new UsageError(`--prompt-dropout must be a share in [0, 1), got "${dropoutText}"`);
  // Absent: the round default (1, the plain conditional prediction); the labels are drawn at --guidance.
  const trainingGuidance = closed("training-guidance", s("training-guidance"), 1, 30);
  const warmupSteps = int(
    "warmup",
    s("warmup"),
    Math.min(DEFAULTS.warmup, Math.floor(steps / 5)),
    0,
    100_000,
  );
  const workers = int("workers", s("workers"), DEFAULTS.workers, 0, 16);
  // Absent or "all": the whole UNet, as the paper trains; otherwise a named subset (TRAINABLE_SUBSETS).
  const trainableText = s("trainable");
  if (trainableText !== undefined && trainableText !== "all" && !isTrainableSubset(trainableText))
    throw new UsageError(
      `--trainable must be all or one of ${Object.keys(TRAINABLE_SUBSETS).join(", ")}, got "${trainableText}"`,
    );
  const trainable =
    trainableText !== undefined && isTrainableSubset(trainableText) ? { trainable: trainableText } : {};
  const rounds = int("rounds", s("rounds"), DEFAULTS.rounds, 0, 10);
  const roundSteps = int("round-steps", s("round-steps"), steps, 1, 100_000);
  const methods = (s("methods") ?? METHODS.join(",")).split(",").map((m) => m.trim());
  for (const m of methods)
    if (!(METHODS as readonly string[]).includes(m))
      throw new UsageError(`--methods: unknown method "${m}" (${METHODS.join(", ")})`);
  const soupsText = s("soups");
  const soups =
    soupsText === "none"
      ? []
      : soupsText === undefined
        ? seeds < 2
          ? []
          : DEFAULTS.soups.filter((m) => methods.includes(m))
        : soupsText.split(",").map((m) => m.trim());
  for (const m of soups) {
    if (!(METHODS as readonly string[]).includes(m))
      throw new UsageError(`--soups: unknown method "${m}" (${METHODS.join(", ")}, or none)`);
    if (!methods.includes(m))
      throw new UsageError(`--soups: "${m}" is not among --methods (${methods.join(", ")})`);
  }
  if (new Set(soups).size !== soups.length)
    throw new UsageError(`--soups "${soupsText}" lists a method twice`);
  if (soups.length > 0 && seeds < 2)
    throw new UsageError(
      `--soups averages the weights of several training seeds: it needs --seeds ≥ 2 (got ${seeds})`,
    );
  const guidanceText = s("soup-guidance");
  const soupGuidance =
    guidanceText === "none"
      ? []
      : guidanceText === undefined
        ? [...DEFAULTS.soupGuidance]
        : guidanceText.split(",").map((w) => {
            const x = numberOf(w);
            if (!(x > 0 && x <= MAX_REWARD_GUIDANCE && x !== 1))
              throw new UsageError(
                `--soup-guidance: "${w}" must be a weight in (0, ${MAX_REWARD_GUIDANCE}] other than 1 (the soup as averaged is always evaluated), or none`,
              );
            return x;
          });
  if (new Set(soupGuidance).size !== soupGuidance.length)
    throw new UsageError(`--soup-guidance "${guidanceText}" lists a weight twice`);
  const trainPrompts = int(
    "train-prompts",
    s("train-prompts"),
    Math.min(DEFAULTS.trainPrompts, Math.max(1, Math.floor(labels / 8))),
    1,
    100_000,
  );
  if (rounds > 0 && Math.floor(labels / rounds) < 2)
    throw new UsageError(`--labels ${labels} leaves fewer than 2 labels per round for --rounds ${rounds}`);
  const evalImagesPerPrompt = int("eval-images", s("eval-images"), DEFAULTS.evalImages, 2, 16);
  const modelDir = s("model") ?? DEFAULTS.model;
  if (!existsSync(`${modelDir}/manifest.json`))
    throw new UsageError(`--model ${modelDir}: not a model version folder (no manifest.json)`);
  const benchmarks = s("benchmarks");
  const out = s("out") ?? null;
  return {
    rater,
    ratersSource,
    labels,
    seeds,
    budget: {
      steps,
      batchSize,
      learningRate,
      warmupSteps,
      workers,
      beta,
      promptDropout,
      trainingGuidance,
      ...trainable,
    },
    rounds,
    roundBudget: {
      steps: roundSteps,
      batchSize,
      learningRate,
      beta,
      promptDropout,
      trainingGuidance,
      warmupSteps: Math.min(warmupSteps, Math.floor(roundSteps / 5)),
      workers,
      ...trainable,
    },
    methods: methods as Method[],
    soups: soups as Method[],
    soupGuidance,
    trainPrompts,
    evalPrompts: int("eval-prompts", s("eval-prompts"), DEFAULTS.evalPrompts, 1, 1000),
    evalImagesPerPrompt,
    samplingSteps: int("sampling-steps", s("sampling-steps"), DEFAULTS.samplingSteps, 10, 100),
    // DDIM η: 0 deterministic, 1 ancestral.
    eta: closed("eta", s("eta"), 0, 1) ?? DEFAULTS.eta,
    guidanceScale: num("guidance", s("guidance"), DEFAULTS.guidance, 0.999, 30),
    modelDir,
    servingThreads: int("threads", s("threads"), DEFAULTS.threads, 1, 16),
    json: values.json === true,
    oracleLabels: values["oracle-labels"] === true,
    out,
    benchmarks: benchmarks === "none" ? null : (benchmarks ?? (out === null ? "BENCHMARKS.md" : null)),
  };
}
