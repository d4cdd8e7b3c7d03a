// Evaluation of one model for the alignment benchmark: the held-out prompt set (the gate's balanced evaluation
// prompts) with fixed sampler seeds per evaluation seed k, judged (fidelity, quality, judge score), scored by the rater
// population (P(like), the counterpart of PickScore) and voted on by fresh draws of the raters (one binary vote per
// image). The same (prompt, k, image) position gets the same rater and the same random draw for every model, so
// model comparisons are paired.
import {
  judgeFeatures,
  meanPairwiseDistance,
  simulateVote,
  type JudgementSummary,
  type RaterSpec,
  type RgbImage,
} from "@likewise/synth";

import { evaluateModel, type EvaluableModel } from "../../../apps/trainer/src/evaluate.ts";
import { medianImageIndex } from "./stats.ts";

export type EvalSettings = {
  prompts: number;
  imagesPerPrompt: number;
  samplingSteps: number;
  /** DDIM η (0 deterministic, 1 ancestral). */
  eta: number;
  guidanceScale: number;
  rater: RaterSpec;
  /** Sampler seed base of evaluation seed k: seedBase + k·SEED_STRIDE. */
  seedBase: number;
  voteSeed: number;
};

export const SEED_STRIDE = 100_000;

/** One (held-out prompt, evaluation seed) cell: the unit of the benchmark's intervals. */
export type Cell = {
  prompt: number;
  k: number;
  caption: string;
  images: RgbImage[];
  judgeScore: number[];
  fidelity: number[];
  quality: number[];
  likeProbability: number[];
  votes: number[];
};

export type ModelEval = {
  id: string;
  cells: Cell[];
  summaries: JudgementSummary[];
  samplingMs: number;
};

/** Evaluates `model` on evaluation seed k (cells of that seed only). */
export async function evaluateOnSeed(model: EvaluableModel, s: EvalSettings, k: number): Promise<ModelEval> {
  const { report, prompts } = await evaluateModel(model, {
    prompts: s.prompts,
    imagesPerPrompt: s.imagesPerPrompt,
    seed: s.seedBase + k * SEED_STRIDE,
    steps: s.samplingSteps,
    eta: s.eta,
    guidanceScale: s.guidanceScale,
    rater: s.rater,
  });
  const cells = prompts.map((p, i): Cell => ({
    prompt: i,
    k,
    caption: p.caption,
    images: p.images,
    judgeScore: p.judgements.map((j) => j.score),
    fidelity: p.judgements.map((j) => j.fidelity),
    quality: p.judgements.map((j) => j.quality.score),
    likeProbability: p.likeProbabilities,
    votes: p.judgements.map((j, n) => {
      const key = `eval:${k}:${i}:${n}`;
      return simulateVote(s.rater, judgeFeatures(j), { seed: s.voteSeed + k, raterId: key, imageId: key })
        .isLiked
        ? 1
        : 0;
    }),
  }));
  return { id: model.manifest.id, cells, summaries: [report.summary], samplingMs: report.sampling.totalMs };
}

export function mergeEvals(evals: readonly ModelEval[]): ModelEval {
  const first = evals[0];
  if (!first) throw new Error("no evaluations to merge");
  return {
    id: first.id,
    cells: evals.flatMap((e) => e.cells),
    summaries: evals.flatMap((e) => e.summaries),
    samplingMs: evals.reduce((a, e) => a + e.samplingMs, 0),
  };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Per-cell values of each metric, in cell order (prompt-major within seed k, seeds in order). */
export type CellMetrics = {
  likeRate: number[];
  likeProbability: number[];
  fidelity: number[];
  quality: number[];
  judgeScore: number[];
  /** Mean pairwise distance of the cell's images box-averaged to 4×4 (composition). */
  diversity: number[];
  /** The same at pixel level. */
  pixelDiversity: number[];
  /** Judge score of the cell's median image by judge score (the paper's per-prompt comparison). */
  medianJudgeScore: number[];
  /** P(like) of the cell's median image by P(like). */
  medianLikeProbability: number[];
};

export function cellMetrics(e: ModelEval): CellMetrics {
  const cells = [...e.cells].sort((a, b) => a.k - b.k || a.prompt - b.prompt);
  return {
    likeRate: cells.map((c) => mean(c.votes)),
    likeProbability: cells.map((c) => mean(c.likeProbability)),
    fidelity: cells.map((c) => mean(c.fidelity)),
    quality: cells.map((c) => mean(c.quality)),
    judgeScore: cells.map((c) => mean(c.judgeScore)),
    diversity: cells.map((c) => (c.images.length > 1 ? meanPairwiseDistance(c.images, { grid: 4 }) : 0)),
    pixelDiversity: cells.map((c) =>
      c.images.length > 1 ? meanPairwiseDistance(c.images, { grid: c.images[0]?.width ?? 1 }) : 0,
    ),
    medianJudgeScore: cells.map((c) => c.judgeScore[medianImageIndex(c.judgeScore)] ?? Number.NaN),
    medianLikeProbability: cells.map(
      (c) => c.likeProbability[medianImageIndex(c.likeProbability)] ?? Number.NaN,
    ),
  };
}
