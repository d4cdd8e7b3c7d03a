/**
 * Judge validation: render scenes with known attributes, analyse them blind, and count how often
 * the judge's most likely value is the true one. This is the evidence that its verdicts on
 * generated images can be trusted; the numbers in docs/shapes-world.md come from here.
 */
import { sampleExample, type ExampleOptions } from "../world/dataset";
import { CLEAN_MIX } from "../world/flaws";
import { fullDescription } from "../world/scene";
import { analyzeImage } from "./analyze";
import { judgeAnalysis } from "./judge";

export const VALIDATED_ATTRIBUTES = [
  "shape",
  "colour",
  "size",
  "position",
  "backgroundColour",
  "backgroundStyle",
  "count",
] as const;
export type ValidatedAttribute = (typeof VALIDATED_ATTRIBUTES)[number];

export type JudgeAccuracy = {
  /** Share of correct verdicts per attribute (objects: per object; background and count: per image). */
  accuracy: Record<ValidatedAttribute, number>;
  /** Number of verdicts behind each share. */
  counts: Record<ValidatedAttribute, number>;
  /** Mean overall fidelity the judge gave the true full captions. */
  meanFidelity: number;
};

/**
 * Accuracy of the judge on `count` examples (seed, 0…count−1) drawn with `options` (default:
 * clean renders at 32 px). With a flaw mix, "truth" is the scene as drawn, so a shifted object
 * counts as correct only if the judge reads its intended position.
 */
export function measureJudgeAccuracy(count: number, seed = 0, options: ExampleOptions = {}): JudgeAccuracy {
  const hits = Object.fromEntries(VALIDATED_ATTRIBUTES.map((a) => [a, 0])) as Record<
    ValidatedAttribute,
    number
  >;
  const counts = Object.fromEntries(VALIDATED_ATTRIBUTES.map((a) => [a, 0])) as Record<
    ValidatedAttribute,
    number
  >;
  const score = (a: ValidatedAttribute, ok: boolean): void => {
    counts[a] += 1;
    if (ok) hits[a] += 1;
  };
  let fidelity = 0;
  for (let i = 0; i < count; i++) {
    const e = sampleExample(seed, i, { mix: CLEAN_MIX, ...options });
    const analysis = analyzeImage(e.image);
    const truth = fullDescription(e.scene);
    const j = judgeAnalysis(analysis, truth);
    fidelity += j.fidelity;
    score("backgroundColour", analysis.background.colour === e.scene.background.colour);
    score("backgroundStyle", analysis.background.style === e.scene.background.style);
    score("count", analysis.objects.length === e.scene.objects.length);
    for (const o of j.objects) {
      score("shape", o.detected?.shape === o.described.shape);
      score("colour", o.detected?.colour === o.described.colour);
      score("size", o.detected?.size === o.described.size);
      score("position", o.detected?.position === o.described.position);
    }
  }
  const accuracy = Object.fromEntries(
    VALIDATED_ATTRIBUTES.map((a) => [a, counts[a] === 0 ? 0 : hits[a] / counts[a]]),
  ) as Record<ValidatedAttribute, number>;
  return { accuracy, counts, meanFidelity: count === 0 ? 0 : fidelity / count };
}
