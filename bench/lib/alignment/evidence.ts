// What the benchmark's labels can teach, measured on the labelled images themselves (the judge's features of each
// image are known here, though no method sees them):
// - vote evidence: within a caption, how much the liked images differ from the disliked ones on the raters' true
//   P(like) and on each judge feature, over the captions that have both — the contrast any method that learns from
//   these votes has to go on — next to the same difference under oracle labels (each caption's likes given to its
//   images of highest true P(like));
// - feature headroom: the raters' P(like) of the same images with one feature moved, e.g. every image at least as
//   sharp as the set's 90th percentile, or each at its caption's best fidelity — where a gain could come from.
import { likeProbability, type JudgeFeatures, type RaterSpec } from "@likewise/synth";

import { captionGroups, oracleLabels, type LabelSet } from "./labels.ts";
import { meanInterval, type Interval } from "./stats.ts";

/** The judge features the evidence table reports (the rater presets weigh these). */
export const EVIDENCE_FEATURES = [
  "fidelity",
  "shapeFidelity",
  "colourFidelity",
  "sizeFidelity",
  "positionFidelity",
  "sharpness",
  "contrast",
  "artefacts",
  "warmth",
] as const satisfies ReadonlyArray<keyof JudgeFeatures>;
/** A judge feature, or the raters' population P(like) itself (what every feature adds up to). */
export type EvidenceFeature = "likeProbability" | (typeof EVIDENCE_FEATURES)[number];

/** A within-caption difference (liked − disliked) over captions: mean ± 95% interval and z = mean / standard error. */
export type Contrast = Interval & { z: number };

export type EvidenceRow = {
  feature: EvidenceFeature;
  votes: Contrast;
  oracle: Contrast;
  /** Root-mean-square within-caption standard deviation of the feature (the spread a method can select on). */
  withinSd: number;
};

export type VoteEvidence = {
  captions: number;
  /** Captions with at least one like and one dislike (the only ones with a within-caption contrast). */
  mixedCaptions: number;
  rows: EvidenceRow[];
};

function featuresOf(set: LabelSet): JudgeFeatures[] {
  const f = set.features;
  if (!f || f.length !== set.labels.length)
    throw new RangeError(
      `the label set has no judge features per image (${f?.length ?? 0} for ${set.labels.length} labels)`,
    );
  return f;
}

const meanOf = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Per caption with both classes, mean(feature | liked) − mean(feature | disliked) → the interval over captions. */
function contrast(groups: number[][], labels: Float32Array, value: (i: number) => number): Contrast {
  const diffs: number[] = [];
  for (const g of groups) {
    const liked = g.filter((i) => (labels[i] ?? -1) > 0).map(value);
    const disliked = g.filter((i) => (labels[i] ?? -1) <= 0).map(value);
    if (liked.length && disliked.length) diffs.push(meanOf(liked) - meanOf(disliked));
  }
  if (diffs.length === 0) return { mean: Number.NaN, half: Number.NaN, n: 0, z: Number.NaN };
  const iv = meanInterval(diffs);
  const sd = Math.sqrt(diffs.reduce((a, d) => a + (d - iv.mean) ** 2, 0) / Math.max(1, diffs.length - 1));
  return { ...iv, z: sd > 0 ? iv.mean / (sd / Math.sqrt(diffs.length)) : Number.NaN };
}

/** The vote evidence of a label set with judge features (collectLabels records them). */
export function voteEvidence(set: LabelSet): VoteEvidence {
  const features = featuresOf(set);
  const groups = captionGroups(set);
  const oracle = oracleLabels(set).labels;
  const mixed = groups.filter(
    (g) => g.some((i) => (set.labels[i] ?? -1) > 0) && g.some((i) => (set.labels[i] ?? -1) <= 0),
  );
  const sizable = groups.filter((g) => g.length >= 2);
  const rows = (["likeProbability", ...EVIDENCE_FEATURES] as const).map((feature): EvidenceRow => {
    const value = (i: number) =>
      (feature === "likeProbability" ? set.likeProbabilities[i] : features[i]?.[feature]) ?? Number.NaN;
    const within = sizable.map((g) => {
      const xs = g.map(value);
      const m = meanOf(xs);
      return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
    });
    return {
      feature,
      votes: contrast(groups, set.labels, value),
      oracle: contrast(groups, oracle, value),
      withinSd: within.length ? Math.sqrt(meanOf(within)) : Number.NaN,
    };
  });
  return { captions: groups.length, mixedCaptions: mixed.length, rows };
}

export type HeadroomRow = { change: string; likeProbability: number };

/** q-quantile (nearest rank, q in [0, 1]) of a non-empty sample. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new RangeError("quantile of an empty sample");
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))] as number;
}

/**
 * The raters' mean P(like) over the labelled images as they are, and with features moved: each quality feature to at
 * least its 90th percentile over the set (artefacts to at most its 10th), all three together, each image's fidelity
 * raised to its caption's best, and both. Only the rater's inputs change (a counterfactual, not an image a model drew).
 */
export function featureHeadroom(set: LabelSet, rater: RaterSpec): HeadroomRow[] {
  const features = featuresOf(set);
  const p = (move: (f: JudgeFeatures, i: number) => JudgeFeatures): number =>
    meanOf(features.map((f, i) => likeProbability(rater, move(f, i))));
  const sharp = quantile(
    features.map((f) => f.sharpness),
    0.9,
  );
  const contr = quantile(
    features.map((f) => f.contrast),
    0.9,
  );
  const clean = quantile(
    features.map((f) => f.artefacts),
    0.1,
  );
  const best = new Float64Array(features.length);
  for (const g of captionGroups(set)) {
    const top = Math.max(...g.map((i) => features[i]?.fidelity ?? 0));
    for (const i of g) best[i] = top;
  }
  const quality = (f: JudgeFeatures): JudgeFeatures => ({
    ...f,
    sharpness: Math.max(f.sharpness, sharp),
    contrast: Math.max(f.contrast, contr),
    artefacts: Math.min(f.artefacts, clean),
  });
  const fidelity = (f: JudgeFeatures, i: number): JudgeFeatures => ({
    ...f,
    fidelity: Math.max(f.fidelity, best[i] ?? f.fidelity),
  });
  return [
    { change: "as drawn", likeProbability: p((f) => f) },
    {
      change: `sharpness ≥ ${sharp.toFixed(3)} (90th pct)`,
      likeProbability: p((f) => ({ ...f, sharpness: Math.max(f.sharpness, sharp) })),
    },
    {
      change: `contrast ≥ ${contr.toFixed(3)} (90th pct)`,
      likeProbability: p((f) => ({ ...f, contrast: Math.max(f.contrast, contr) })),
    },
    {
      change: `artefacts ≤ ${clean.toFixed(3)} (10th pct)`,
      likeProbability: p((f) => ({ ...f, artefacts: Math.min(f.artefacts, clean) })),
    },
    { change: "all three quality features", likeProbability: p(quality) },
    { change: "fidelity at its caption's best", likeProbability: p(fidelity) },
    { change: "both", likeProbability: p((f, i) => fidelity(quality(f), i)) },
  ];
}
