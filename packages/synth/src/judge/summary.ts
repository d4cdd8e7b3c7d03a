/**
 * Aggregate judge verdicts over a set of images — what an evaluation reports. Per attribute:
 * mean fidelity (probability of the stated value), accuracy (share of stated values that are
 * the judge's most likely reading), how many were asked, and the accuracy a blind guess would
 * get, so "clearly above chance" has a number to beat.
 */
import { BACKGROUND_STYLES, COLOURS, POSITIONS, SHAPES, SIZES } from "../world/attributes";
import { type QualityFeatures } from "./analyze";
import { type Judgement } from "./judge";

export const SUMMARY_ATTRIBUTES = [
  "shape",
  "colour",
  "size",
  "position",
  "backgroundColour",
  "backgroundStyle",
  "count",
] as const;
export type SummaryAttribute = (typeof SUMMARY_ATTRIBUTES)[number];

/** Accuracy of a uniform guess per attribute (object colours exclude the background's, count is 1-or-2). */
export const ATTRIBUTE_CHANCE: Readonly<Record<SummaryAttribute, number>> = {
  shape: 1 / SHAPES.length,
  colour: 1 / (COLOURS.length - 1),
  size: 1 / SIZES.length,
  position: 1 / POSITIONS.length,
  backgroundColour: 1 / COLOURS.length,
  backgroundStyle: 1 / BACKGROUND_STYLES.length,
  count: 1 / 2,
};

export type AttributeSummary = {
  /** Mean probability of the stated value; NaN when never asked. */
  fidelity: number;
  /** Share of stated values read back as the judge's most likely value; NaN when never asked. */
  accuracy: number;
  /** How many times the attribute was stated. */
  asked: number;
  chance: number;
};

export type JudgementSummary = {
  images: number;
  /** Means over images. */
  fidelity: number;
  score: number;
  attributes: Record<SummaryAttribute, AttributeSummary>;
  quality: Record<keyof QualityFeatures, number>;
};

/** Summarises judgements (one per image). */
export function summarizeJudgements(judgements: readonly Judgement[]): JudgementSummary {
  const sums = Object.fromEntries(SUMMARY_ATTRIBUTES.map((a) => [a, { fid: 0, hit: 0, n: 0 }])) as Record<
    SummaryAttribute,
    { fid: number; hit: number; n: number }
  >;
  const add = (a: SummaryAttribute, fidelity: number, isHit: boolean): void => {
    sums[a].fid += fidelity;
    sums[a].hit += isHit ? 1 : 0;
    sums[a].n += 1;
  };
  const quality: Record<string, number> = {};
  for (const j of judgements) {
    for (const o of j.objects) {
      const d = o.described;
      const seen = o.detected;
      if (d.shape !== undefined) add("shape", o.scores.shape ?? 0, seen?.shape === d.shape);
      if (d.colour !== undefined) add("colour", o.scores.colour ?? 0, seen?.colour === d.colour);
      if (d.size !== undefined) add("size", o.scores.size ?? 0, seen?.size === d.size);
      if (d.position !== undefined) add("position", o.scores.position ?? 0, seen?.position === d.position);
    }
    const bg = j.description.background;
    const found = j.analysis.background;
    if (bg?.colour !== undefined)
      add("backgroundColour", found.colourProbs[bg.colour], found.colour === bg.colour);
    if (bg?.style !== undefined) add("backgroundStyle", found.styleProbs[bg.style], found.style === bg.style);
    add("count", j.attributes.count, j.attributes.count === 1);
    for (const [k, v] of Object.entries(j.quality)) quality[k] = (quality[k] ?? 0) + v;
  }
  const n = judgements.length;
  const mean = (f: (j: Judgement) => number): number =>
    n === 0 ? Number.NaN : judgements.reduce((s, j) => s + f(j), 0) / n;
  return {
    images: n,
    fidelity: mean((j) => j.fidelity),
    score: mean((j) => j.score),
    attributes: Object.fromEntries(
      SUMMARY_ATTRIBUTES.map((a) => {
        const s = sums[a];
        return [
          a,
          {
            fidelity: s.n === 0 ? Number.NaN : s.fid / s.n,
            accuracy: s.n === 0 ? Number.NaN : s.hit / s.n,
            asked: s.n,
            chance: ATTRIBUTE_CHANCE[a],
          },
        ];
      }),
    ) as Record<SummaryAttribute, AttributeSummary>,
    quality: Object.fromEntries(
      Object.entries(quality).map(([k, v]) => [k, n === 0 ? Number.NaN : v / n]),
    ) as Record<keyof QualityFeatures, number>,
  };
}
