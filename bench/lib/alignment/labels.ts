// Binary feedback for the alignment benchmark: a model draws images for a training prompt set through the serving
// sampler (apps/trainer's evaluateModel, given another prompt seed), the judge scores them, and one simulated rater
// of the population votes once on each — the platform's feed + vote path without the database.
import { Tokenizer } from "@likewise/kto";
import type { LoadedModel } from "@likewise/serving";
import {
  judgeFeatures,
  sampleExample,
  simulateVote,
  toFloat32,
  type ImageSize,
  type JudgeFeatures,
  type RaterSpec,
  type RgbImage,
} from "@likewise/synth";

import { evaluateModel } from "../../../apps/trainer/src/evaluate.ts";
import { bestOfKl, expectedBestOf } from "./stats.ts";

export type LabelSet = {
  /** The model the images came from. */
  source: string;
  prompts: string[];
  images: RgbImage[];
  /** +1 liked, −1 disliked. */
  labels: Float32Array;
  /** Population P(like) of each image (the rater mix's mean; the vote itself was drawn from one persona's). */
  likeProbabilities: number[];
  fidelity: number[];
  /** The judge's features of each image (collectLabels; absent for world renders): for the evidence analysis only. */
  features?: JudgeFeatures[];
  /** Prompt slots of the training set dropped because their caption is held out (collectLabels). */
  heldOutDropped?: number;
};

export type CollectOptions = {
  /** Training prompts: a balanced prompt set of the shapes world's caption grammar under `promptSeed`. */
  prompts: number;
  promptSeed: number;
  /** Labels wanted; images per prompt = ceil(count / prompts), the first `count` in image-major order are kept. */
  count: number;
  /** Sampler seed of the first image (image j of prompt i: seed + i·perPrompt + j). */
  seed: number;
  samplingSteps: number;
  /** DDIM η (0 deterministic, 1 ancestral). */
  eta: number;
  guidanceScale: number;
  rater: RaterSpec;
  /** Seed of the votes (which rater persona votes on which image and how). */
  voteSeed: number;
  /** Captions that must not be trained on (the held-out set). */
  exclude: ReadonlySet<string>;
  onProgress?: (done: number, total: number) => void;
};

/**
 * `count` labelled images from `model`, interleaved so that any prefix covers every prompt evenly (image 0 of
 * every prompt, then image 1, …). Prompts whose caption is in `exclude` are dropped (their images are not kept).
 */
export async function collectLabels(model: LoadedModel, o: CollectOptions): Promise<LabelSet> {
  const perPrompt = Math.ceil(o.count / o.prompts);
  const { prompts } = await evaluateModel(model, {
    prompts: o.prompts,
    promptSeed: o.promptSeed,
    imagesPerPrompt: perPrompt,
    seed: o.seed,
    steps: o.samplingSteps,
    eta: o.eta,
    guidanceScale: o.guidanceScale,
    rater: o.rater,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  const features: JudgeFeatures[] = [];
  const out: LabelSet = {
    source: model.manifest.id,
    prompts: [],
    images: [],
    labels: new Float32Array(0),
    likeProbabilities: [],
    fidelity: [],
    features,
    heldOutDropped: prompts.filter((p) => o.exclude.has(p.caption)).length,
  };
  const labels: number[] = [];
  for (let j = 0; j < perPrompt; j++) {
    for (const [i, p] of prompts.entries()) {
      if (o.exclude.has(p.caption)) continue;
      const image = p.images[j];
      const judgement = p.judgements[j];
      if (!image || !judgement) continue;
      const key = `${o.seed}:${i}:${j}`;
      const imageFeatures = judgeFeatures(judgement);
      const vote = simulateVote(o.rater, imageFeatures, {
        seed: o.voteSeed,
        raterId: key,
        imageId: key,
      });
      out.prompts.push(p.caption);
      out.images.push(image);
      labels.push(vote.isLiked ? 1 : -1);
      // The population's P(like) (evaluateModel's, over the rater mix), not the voting persona's: what any voter would
      // like on average, the quantity the evaluation and the selection ceiling measure.
      out.likeProbabilities.push(p.likeProbabilities[j] ?? vote.probability);
      out.fidelity.push(judgement.fidelity);
      features.push(imageFeatures);
    }
  }
  const keep = Math.min(o.count, labels.length);
  out.prompts.length = keep;
  out.images.length = keep;
  out.likeProbabilities.length = keep;
  out.fidelity.length = keep;
  features.length = keep;
  out.labels = Float32Array.from(labels.slice(0, keep));
  return out;
}

/** The first `n` labels of a set (a prefix still covers every prompt, see collectLabels). */
export function takeLabels(set: LabelSet, n: number): LabelSet {
  return {
    source: set.source,
    prompts: set.prompts.slice(0, n),
    images: set.images.slice(0, n),
    labels: set.labels.slice(0, n),
    likeProbabilities: set.likeProbabilities.slice(0, n),
    fidelity: set.fidelity.slice(0, n),
    ...(set.features ? { features: set.features.slice(0, n) } : {}),
  };
}

/** One row of the selection ceiling: mean P(like) of the best of n images per prompt. */
export type SelectionRow = { n: number; likeProbability: number; kl: number };

/** The label set's image indices grouped by caption (captions in order of first appearance, indices ascending). */
export function captionGroups(set: Pick<LabelSet, "prompts">): number[][] {
  const groups = new Map<string, number[]>();
  set.prompts.forEach((p, i) => {
    const list = groups.get(p) ?? [];
    list.push(i);
    groups.set(p, list);
  });
  return [...groups.values()];
}

/** Groups the label set's P(like) by caption. */
function byCaption(set: LabelSet): number[][] {
  return captionGroups(set).map((g) => g.map((i) => set.likeProbabilities[i] ?? 0));
}

/**
 * Mean P(like) of a model that draws, per training caption, exactly the distribution of its parent's images that
 * the raters like — what SFT on the liked images imitates and KTO's desirable term pulls toward. In expectation over
 * the votes an image is liked with its own P, so per caption this is Σ P² / Σ P; captions weighted by their images.
 */
export function likedDistributionLikeProbability(set: LabelSet): number {
  const groups = byCaption(set);
  const images = groups.reduce((a, g) => a + g.length, 0);
  if (images === 0) return Number.NaN;
  const total = groups.reduce((a, g) => {
    const mass = g.reduce((x, p) => x + p, 0);
    return a + (mass > 0 ? (g.length * g.reduce((x, p) => x + p * p, 0)) / mass : 0);
  }, 0);
  return total / images;
}

/**
 * What pure selection among the labelled model's own images could reach: per training caption, the expected P(like)
 * of the best of n of its images chosen by the raters' true P(like) (an oracle no method has), for n = 1, 2, 4, … up to
 * the fewest images any caption has, averaged over captions weighted by their image count (so n = 1 is the labels' mean
 * P(like); a caption the balanced prompt set drew twice pools its images, drawn from one conditional distribution), with
 * the KL of such a best-of-n policy from the model. An aligned model that only re-weights what its parent draws per
 * prompt cannot beat these at the same KL.
 */
export function selectionCeiling(set: LabelSet): SelectionRow[] {
  const groups = byCaption(set);
  if (groups.length === 0) return [];
  const fewest = Math.min(...groups.map((g) => g.length));
  const images = groups.reduce((a, g) => a + g.length, 0);
  const rows: SelectionRow[] = [];
  for (let n = 1; n <= fewest; n *= 2) {
    const total = groups.reduce((a, g) => a + g.length * expectedBestOf(g, n), 0);
    rows.push({ n, likeProbability: total / images, kl: bestOfKl(n) });
  }
  return rows;
}

/**
 * Diagnostic labels: per caption, as many likes as the votes gave, but given to the caption's images of highest true
 * P(like) (ties to the earlier image). The class balance is the votes'; only *which* images are liked changes, so a
 * method trained on these shows what it does with a clean within-prompt signal (`pnpm bench alignment --oracle-labels`).
 */
export function oracleLabels(set: LabelSet): LabelSet {
  const labels = new Float32Array(set.labels.length).fill(-1);
  for (const idx of captionGroups(set)) {
    const likes = idx.filter((i) => (set.labels[i] ?? -1) > 0).length;
    const ranked = [...idx].sort(
      (a, b) => (set.likeProbabilities[b] ?? 0) - (set.likeProbabilities[a] ?? 0) || a - b,
    );
    for (const i of ranked.slice(0, likes)) labels[i] = 1;
  }
  return { ...set, labels };
}

export const likedCount = (set: LabelSet): number => set.labels.reduce((a, y) => a + (y > 0 ? 1 : 0), 0);

/** What the trainer takes: tokens under the parent's vocabulary and context, images as [−1, 1] floats (as the round
 * runner prepares its manifest), ±1 labels, and the prompts (for DPO pairs). `likedOnly` keeps the liked images. */
export function trainingData(
  set: LabelSet,
  vocab: readonly string[],
  contextLength: number,
  likedOnly = false,
) {
  const idx = [...set.labels.keys()].filter((i) => !likedOnly || (set.labels[i] ?? 0) > 0);
  const first = set.images[0];
  if (!first) throw new Error("no labelled images");
  const pixels = first.width * first.height * 3;
  const tokenizer = new Tokenizer([...vocab], contextLength);
  const tokens = new Int32Array(idx.length * contextLength);
  const images = new Float32Array(idx.length * pixels);
  const labels = new Float32Array(idx.length);
  const prompts: string[] = [];
  idx.forEach((i, n) => {
    tokens.set(tokenizer.encode(set.prompts[i] ?? ""), n * contextLength);
    images.set(toFloat32(set.images[i] as RgbImage), n * pixels);
    labels[n] = set.labels[i] ?? -1;
    prompts.push(set.prompts[i] ?? "");
  });
  return { size: idx.length, tokens, images, labels, prompts };
}

/**
 * `count` examples of the shapes world's training distribution (dataset `seed`, default flaw mix, `size` pixels) as a
 * label set of liked images: what pretraining saw, for measuring what further training costs by itself. The images
 * are not judged (P(like) and fidelity are NaN).
 */
export function worldSet(count: number, seed: number, size: number): LabelSet {
  const examples = Array.from({ length: count }, (_, i) =>
    sampleExample(seed, i, { size: size as ImageSize }),
  );
  return {
    source: `world:${seed}`,
    prompts: examples.map((e) => e.caption),
    images: examples.map((e) => e.image),
    labels: new Float32Array(count).fill(1),
    likeProbabilities: examples.map(() => Number.NaN),
    fidelity: examples.map(() => Number.NaN),
  };
}
