/**
 * The judge: how well an image shows what its caption asks for, and how good it looks — the
 * shapes-world counterpart of CLIP score (prompt fidelity) and an aesthetic score (quality).
 *
 * Fidelity of one attribute is the analysis' probability of the value the caption states (so a
 * near miss scores partly); an object the image lacks scores 0 on everything it was asked to be.
 * Overall fidelity is the mean over every attribute the caption specifies plus one "count" term
 * (1 when the number of objects found equals the number described). The judge score is
 * 0.6·fidelity + 0.4·quality.
 */
import { type RgbImage } from "../image";
import { parseCaption } from "../world/caption";
import { type Description, type ObjectDescription } from "../world/scene";
import { analyzeImage, type DetectedObject, type ImageAnalysis, type QualityFeatures } from "./analyze";

/** Weight of fidelity in the judge score; quality gets the rest. */
export const JUDGE_FIDELITY_WEIGHT = 0.6;

export type ObjectAttribute = "shape" | "colour" | "size" | "position";

export type ObjectJudgement = {
  described: ObjectDescription;
  /** The detected object matched to this description, or null when the image has too few. */
  detected: DetectedObject | null;
  /** p(stated value) for each attribute the description specifies. */
  scores: Partial<Record<ObjectAttribute, number>>;
};

/** Mean fidelity per attribute over the caption's objects; null when the caption never specifies it. */
export type AttributeFidelity = {
  colour: number | null;
  shape: number | null;
  size: number | null;
  position: number | null;
  /** Mean of p(colour) and p(style) for whichever the caption states. */
  background: number | null;
  /** 1 when the image shows as many objects as described, else 0. */
  count: number;
};

export type Judgement = {
  /** What the caption asked for. */
  description: Description;
  /** Overall prompt fidelity, 0…1. */
  fidelity: number;
  attributes: AttributeFidelity;
  objects: ObjectJudgement[];
  quality: QualityFeatures;
  /** JUDGE_FIDELITY_WEIGHT·fidelity + (1 − JUDGE_FIDELITY_WEIGHT)·quality.score, 0…1. */
  score: number;
  analysis: ImageAnalysis;
};

function scoreObject(
  d: ObjectDescription,
  o: DetectedObject | null,
): Partial<Record<ObjectAttribute, number>> {
  const s: Partial<Record<ObjectAttribute, number>> = {};
  if (d.shape !== undefined) s.shape = o === null ? 0 : o.shapeProbs[d.shape];
  if (d.colour !== undefined) s.colour = o === null ? 0 : o.colourProbs[d.colour];
  if (d.size !== undefined) s.size = o === null ? 0 : o.sizeProbs[d.size];
  if (d.position !== undefined) s.position = o === null ? 0 : o.positionProbs[d.position];
  return s;
}

const total = (s: Partial<Record<ObjectAttribute, number>>): number =>
  Object.values(s).reduce((a, b) => a + b, 0);

/** Assigns detected objects to described ones, maximising total fidelity (≤ 2 × 2, so exhaustive). */
function match(
  described: readonly ObjectDescription[],
  detected: readonly DetectedObject[],
): ObjectJudgement[] {
  const options: Array<Array<DetectedObject | null>> = [];
  const [a, b] = detected;
  if (described.length === 1) options.push(...(detected.length === 0 ? [[null]] : detected.map((o) => [o])));
  else if (a === undefined) options.push([null, null]);
  else if (b === undefined) options.push([a, null], [null, a]);
  else options.push([a, b], [b, a]);
  let best: ObjectJudgement[] = [];
  let bestTotal = -1;
  for (const assignment of options) {
    const js = described.map((d, i) => {
      const o = assignment[i] ?? null;
      return { described: d, detected: o, scores: scoreObject(d, o) };
    });
    const t = js.reduce((s, j) => s + total(j.scores), 0);
    if (t > bestTotal) {
      best = js;
      bestTotal = t;
    }
  }
  return best;
}

/** Judges an image against a caption (parsed with parseCaption, which throws on ungrammatical text) or a description. */
export function judgeImage(image: RgbImage, caption: string | Description): Judgement {
  const description = typeof caption === "string" ? parseCaption(caption) : caption;
  return judgeAnalysis(analyzeImage(image), description);
}

/** Judges an existing analysis against a description (lets one analysis serve several captions). */
export function judgeAnalysis(analysis: ImageAnalysis, description: Description): Judgement {
  const objects = match(description.objects, analysis.objects);
  const perAttribute = (k: ObjectAttribute): number | null => {
    const vals = objects.map((o) => o.scores[k]).filter((v): v is number => v !== undefined);
    return vals.length === 0 ? null : vals.reduce((a, b) => a + b, 0) / vals.length;
  };
  const bgScores: number[] = [];
  const bg = description.background;
  if (bg?.colour !== undefined) bgScores.push(analysis.background.colourProbs[bg.colour]);
  if (bg?.style !== undefined) bgScores.push(analysis.background.styleProbs[bg.style]);
  const count = analysis.objects.length === description.objects.length ? 1 : 0;
  const all = [...objects.flatMap((o) => Object.values(o.scores)), ...bgScores, count];
  const fidelity = all.reduce((a, b) => a + b, 0) / all.length;
  return {
    description,
    fidelity,
    attributes: {
      colour: perAttribute("colour"),
      shape: perAttribute("shape"),
      size: perAttribute("size"),
      position: perAttribute("position"),
      background: bgScores.length === 0 ? null : bgScores.reduce((a, b) => a + b, 0) / bgScores.length,
      count,
    },
    objects,
    quality: analysis.quality,
    score: JUDGE_FIDELITY_WEIGHT * fidelity + (1 - JUDGE_FIDELITY_WEIGHT) * analysis.quality.score,
    analysis,
  };
}

/** Names of the flat judge features raters weight (see judgeFeatures). */
export const JUDGE_FEATURES = [
  "fidelity",
  "colourFidelity",
  "shapeFidelity",
  "sizeFidelity",
  "positionFidelity",
  "backgroundFidelity",
  "countFidelity",
  "sharpness",
  "contrast",
  "noise",
  "artefacts",
  "saturation",
  "warmth",
  "redness",
  "brightness",
  "quality",
  "judgeScore",
] as const;
export type JudgeFeature = (typeof JUDGE_FEATURES)[number];
export type JudgeFeatures = Readonly<Record<JudgeFeature, number>>;

/**
 * A judgement as a flat record of numbers, the input of simulated raters. An attribute the
 * caption leaves unspecified takes the overall fidelity, so it neither helps nor hurts.
 */
export function judgeFeatures(j: Judgement): JudgeFeatures {
  const or = (v: number | null): number => v ?? j.fidelity;
  const q = j.quality;
  return {
    fidelity: j.fidelity,
    colourFidelity: or(j.attributes.colour),
    shapeFidelity: or(j.attributes.shape),
    sizeFidelity: or(j.attributes.size),
    positionFidelity: or(j.attributes.position),
    backgroundFidelity: or(j.attributes.background),
    countFidelity: j.attributes.count,
    sharpness: q.sharpness,
    contrast: q.contrast,
    noise: q.noise,
    artefacts: q.artefacts,
    saturation: q.saturation,
    warmth: q.warmth,
    redness: q.redness,
    brightness: q.brightness,
    quality: q.score,
    judgeScore: j.score,
  };
}
