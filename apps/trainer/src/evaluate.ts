// Model evaluation on the shapes world: a fixed, seeded set of held-out prompts → images through the serving
// sampler → the judge (per-attribute prompt fidelity, quality) and a simulated-rater like rate. The same
// numbers gate alignment rounds and fill the benchmarks, so everything here is deterministic under its seeds.
import type { DiffusionModel, ModelManifest } from "@likewise/serving";
import { sampleImages } from "@likewise/serving";
import {
  evaluationPrompts,
  formatCaption,
  judgeFeatures,
  judgeImage,
  likeProbability,
  shortenDescription,
  summarizeJudgements,
  type Description,
  type Judgement,
  type JudgementSummary,
  type RaterSpec,
  type RgbImage,
} from "@likewise/synth";

export type EvalOptions = {
  /** Held-out prompts from the fixed evaluation set (balanced attributes). */
  prompts: number;
  /** Seed of that prompt set (default DEFAULT_EVAL_SEED); another seed gives another balanced set, e.g. for training. */
  promptSeed?: number;
  imagesPerPrompt: number;
  /** Seed of the first image; image j of prompt i uses seed + i·imagesPerPrompt + j. */
  seed: number;
  steps: number;
  guidanceScale: number;
  /** DDIM η (0 deterministic, 1 ancestral); default 0. */
  eta?: number;
  rater: RaterSpec;
  /** Images per sampler call (memory/latency trade-off). */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
};

export type EvalPromptResult = {
  caption: string;
  description: Description;
  images: RgbImage[];
  judgements: Judgement[];
  likeProbabilities: number[];
};

export type EvalReport = {
  model: { id: string; imageSize: number };
  settings: Omit<EvalOptions, "rater" | "onProgress"> & { rater: string };
  summary: JudgementSummary;
  /** Mean P(like) of the rater population over all images. */
  likeRate: number;
  /** Per attribute: judge accuracy minus the accuracy of a blind guess. */
  aboveChance: Record<string, number>;
  sampling: { images: number; totalMs: number };
};

/** A model version ready to sample: a loaded folder, or a composite such as reward guidance (bench/lib/alignment). */
export type EvaluableModel = DiffusionModel & { manifest: ModelManifest };

export async function evaluateModel(
  model: EvaluableModel,
  o: EvalOptions,
): Promise<{ report: EvalReport; prompts: EvalPromptResult[] }> {
  const contextLength = model.manifest.contextLength;
  // Captions are capped to the model's context the way training captions were, and judged as shortened.
  const prompts = evaluationPrompts(o.prompts, o.promptSeed).map((p) => {
    const description = shortenDescription(p.description, Math.max(5, contextLength));
    return { caption: formatCaption(description), description };
  });
  const jobs = prompts.flatMap((p, i) =>
    Array.from({ length: o.imagesPerPrompt }, (_, j) => ({
      i,
      seed: o.seed + i * o.imagesPerPrompt + j,
      caption: p.caption,
    })),
  );
  const results: EvalPromptResult[] = prompts.map((p) => ({
    ...p,
    images: [],
    judgements: [],
    likeProbabilities: [],
  }));
  const batch = o.batch ?? 16;
  let totalMs = 0;
  for (let k = 0; k < jobs.length; k += batch) {
    const chunk = jobs.slice(k, k + batch);
    const out = await sampleImages(model, {
      prompts: chunk.map((c) => c.caption),
      seeds: chunk.map((c) => c.seed),
      steps: o.steps,
      guidanceScale: o.guidanceScale,
      eta: o.eta ?? 0,
    });
    totalMs += out.timings.totalMs;
    out.images.forEach((img, n) => {
      const job = chunk[n];
      if (!job) return;
      const r = results[job.i];
      if (!r) return;
      const j = judgeImage(img, r.description);
      r.images.push(img);
      r.judgements.push(j);
      r.likeProbabilities.push(likeProbability(o.rater, judgeFeatures(j)));
    });
    o.onProgress?.(Math.min(k + batch, jobs.length), jobs.length);
  }
  const all = results.flatMap((r) => r.judgements);
  const summary = summarizeJudgements(all);
  const likes = results.flatMap((r) => r.likeProbabilities);
  const aboveChance = Object.fromEntries(
    Object.entries(summary.attributes)
      .filter(([, a]) => a.asked > 0)
      .map(([k, a]) => [k, a.accuracy - a.chance]),
  );
  const { onProgress: _p, rater, ...settings } = o;
  return {
    report: {
      model: { id: model.manifest.id, imageSize: model.manifest.imageSize },
      settings: { ...settings, rater: rater.name },
      summary,
      likeRate: likes.reduce((a, b) => a + b, 0) / Math.max(1, likes.length),
      aboveChance,
      sampling: { images: jobs.length, totalMs: Math.round(totalMs) },
    },
    prompts: results,
  };
}
