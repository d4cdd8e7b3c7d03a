/**
 * Named rater presets. Like rates were measured on 400 default-mix and 200 clean renders per
 * size (see docs/shapes-world.md, "Raters"); `default` is calibrated so the flawed training
 * distribution gets roughly half the likes and clean, faithful renders clearly more, and so that
 * images carrying generator-like artefacts on top (what a base model trained on that
 * distribution is expected to produce) still land in the 30–60% band.
 */
import { SynthError } from "../errors";
import { parseRaterSpec, type RaterSpec } from "./spec";

export const RATER_PRESET_NAMES = ["default", "fidelity", "warm", "aesthetic-threshold", "red"] as const;
export type RaterPresetName = (typeof RATER_PRESET_NAMES)[number];

/** The presets as JSON-shaped data (what a spec file would contain). */
export const RATER_PRESET_SPECS: Readonly<Record<RaterPresetName, unknown>> = {
  default: {
    name: "default",
    description: "70% want a faithful, crisp, clean image; 30% mostly want warm colours.",
    population: [
      {
        name: "fidelity-and-sharpness",
        share: 0.7,
        kind: "logistic",
        weights: { fidelity: 12, sharpness: 4, artefacts: -2.5, contrast: 3 },
        bias: -14.2,
        noise: 1,
      },
      {
        name: "warm",
        share: 0.3,
        kind: "logistic",
        weights: { warmth: 5, fidelity: 6 },
        bias: -5.8,
        noise: 1,
      },
    ],
  },
  fidelity: {
    name: "fidelity",
    description: "Everyone wants the image to show what the caption says.",
    population: [
      { name: "fidelity", share: 1, kind: "logistic", weights: { fidelity: 20 }, bias: -18.5, noise: 1 },
    ],
  },
  warm: {
    name: "warm",
    description: "Everyone prefers warm (red/orange/yellow) images, a little fidelity aside.",
    population: [
      { name: "warm", share: 1, kind: "logistic", weights: { warmth: 6, fidelity: 3 }, bias: -3.6, noise: 1 },
    ],
  },
  "aesthetic-threshold": {
    name: "aesthetic-threshold",
    description: "Like iff the quality score ≥ 0.85 (the paper's 'aesthetic score ≥ 7' experiment).",
    population: [
      { name: "aesthetic", share: 1, kind: "threshold", feature: "quality", atLeast: 0.85, noise: 0 },
    ],
  },
  red: {
    name: "red",
    description:
      "Like iff the image is red enough (the paper's red-filter experiment): redness ≥ 0.15, softened by noise 0.03.",
    population: [
      { name: "red", share: 1, kind: "threshold", feature: "redness", atLeast: 0.15, noise: 0.03 },
    ],
  },
};

/** The validated presets. */
export const RATER_PRESETS: Readonly<Record<RaterPresetName, RaterSpec>> = Object.fromEntries(
  RATER_PRESET_NAMES.map((n) => [n, parseRaterSpec(RATER_PRESET_SPECS[n])]),
) as Record<RaterPresetName, RaterSpec>;

/** A preset by name; throws SynthError("INVALID_OPTIONS") listing the names for an unknown one. */
export function getRaterPreset(name: string): RaterSpec {
  const preset = (RATER_PRESETS as Readonly<Record<string, RaterSpec>>)[name];
  if (preset === undefined)
    throw new SynthError(
      "INVALID_OPTIONS",
      `unknown rater preset "${name}" (expected one of ${RATER_PRESET_NAMES.join(", ")})`,
    );
  return preset;
}
