import { describe, expect, it } from "vitest";

import { createRng } from "../rng";
import { sampleExample } from "../world/dataset";
import { evaluationPrompts } from "../world/eval-prompts";
import { renderScene } from "../world/render";
import {
  CLEAN_MIX,
  DEFAULT_TRAINING_MIX,
  GENERATOR_LIKE_MIX,
  type FlawKind,
  type TrainingMix,
} from "../world/flaws";
import { completeScene, fullDescription } from "../world/scene";
import { analyzeImage } from "./analyze";
import { judgeFeatures, judgeImage, type JudgeFeature } from "./judge";
import { summarizeJudgements } from "./summary";
import { measureJudgeAccuracy, type ValidatedAttribute } from "./validate";

/**
 * Accuracy floors per size on clean renders (measured on 1000 images: 100% at 32 px for every
 * attribute; 99.8% at 24 px; shape 94% at 16 px — small rings and stars blur into discs).
 * The floors sit a few points under the measurements so the test is stable across seeds.
 */
const CLEAN_FLOORS: Record<16 | 24 | 32, Record<ValidatedAttribute, number>> = {
  32: {
    shape: 0.97,
    colour: 0.97,
    size: 0.97,
    position: 0.97,
    backgroundColour: 0.97,
    backgroundStyle: 0.97,
    count: 0.97,
  },
  24: {
    shape: 0.95,
    colour: 0.95,
    size: 0.95,
    position: 0.95,
    backgroundColour: 0.97,
    backgroundStyle: 0.97,
    count: 0.95,
  },
  16: {
    shape: 0.85,
    colour: 0.93,
    size: 0.95,
    position: 0.95,
    backgroundColour: 0.97,
    backgroundStyle: 0.97,
    count: 0.93,
  },
};

/** Mild blur (σ ≈ 0.5–0.8 px at 32 px) and mild noise (σ 2–4% of range), as a good generator might leave. */
const MILD_MIX: TrainingMix = {
  flaws: [
    { kind: "blur", rate: 0.5, strength: [0.015, 0.025] },
    { kind: "noise", rate: 0.5, strength: [0.02, 0.04] },
  ],
};

describe("judge accuracy on renders with known attributes", () => {
  for (const size of [32, 24, 16] as const) {
    it(`clean ${size} px: every attribute above its floor`, () => {
      const { accuracy } = measureJudgeAccuracy(size === 32 ? 300 : 200, 31, { size });
      for (const [attr, floor] of Object.entries(CLEAN_FLOORS[size]))
        expect.soft(accuracy[attr as ValidatedAttribute], attr).toBeGreaterThanOrEqual(floor);
    });
  }

  it("mildly blurred and noisy 32 px: ≥ 90% on every attribute", () => {
    const { accuracy } = measureJudgeAccuracy(200, 32, { size: 32, mix: MILD_MIX });
    for (const [attr, acc] of Object.entries(accuracy)) expect.soft(acc, attr).toBeGreaterThanOrEqual(0.9);
  });

  for (const size of [32, 16] as const) {
    it(`generator-like (blotchy, soft, grainy) ${size} px: ≥ 90% on every attribute but shape at 16 px (≥ 85%)`, () => {
      const { accuracy } = measureJudgeAccuracy(200, 33, { size, mix: GENERATOR_LIKE_MIX });
      for (const [attr, acc] of Object.entries(accuracy))
        expect.soft(acc, attr).toBeGreaterThanOrEqual(size === 16 && attr === "shape" ? 0.85 : 0.9);
    });
  }
});

describe("judge verdicts", () => {
  it("gives true captions high fidelity and wrong captions low fidelity", () => {
    for (let i = 0; i < 40; i++) {
      const e = sampleExample(40, i, { size: 32, mix: CLEAN_MIX, scene: { twoObjectRate: 0 } });
      const truth = fullDescription(e.scene);
      const j = judgeImage(e.image, truth);
      expect(j.fidelity).toBeGreaterThan(0.9);
      const obj = truth.objects[0];
      if (obj === undefined) throw new Error("scene without objects");
      const wrong = judgeImage(e.image, {
        objects: [
          {
            ...obj,
            colour: obj.colour === "red" ? "blue" : "red",
            shape: obj.shape === "star" ? "circle" : "star",
          },
        ],
      });
      expect(wrong.attributes.colour).toBeLessThan(0.1);
      expect(wrong.attributes.shape).toBeLessThan(0.1);
      expect(wrong.fidelity).toBeLessThan(j.fidelity - 0.3);
    }
  });

  it("scores reference renders of the evaluation prompts near 1 (the ceiling a generator can reach)", () => {
    const rng = createRng(9);
    const prompts = evaluationPrompts(50);
    const judgements = prompts.map((p) =>
      judgeImage(renderScene(completeScene(p.description, rng), 32), p.caption),
    );
    const summary = summarizeJudgements(judgements);
    expect(summary.images).toBe(50);
    expect(summary.fidelity).toBeGreaterThan(0.97);
    expect(summary.attributes.shape.asked).toBe(60);
    expect(summary.attributes.backgroundStyle.asked).toBe(50);
    for (const a of Object.values(summary.attributes)) expect(a.accuracy).toBeGreaterThan(0.95);
    expect(summary.attributes.position.chance).toBeCloseTo(1 / 9, 12);
    expect(summary.quality.sharpness).toBeGreaterThan(0.5);
  });

  it("accepts a caption string, leaves unspecified attributes null, and scores missing objects 0", () => {
    const e = sampleExample(41, 0, { size: 32, mix: CLEAN_MIX, scene: { twoObjectRate: 0 } });
    const j = judgeImage(e.image, "a shape and a red circle");
    expect(j.attributes.size).toBeNull();
    expect(j.attributes.background).toBeNull();
    expect(j.attributes.count).toBe(0);
    expect(j.objects.some((o) => o.detected === null)).toBe(true);
    const f = judgeFeatures(j);
    expect(f.sizeFidelity).toBe(j.fidelity);
    expect(j.score).toBeCloseTo(0.6 * j.fidelity + 0.4 * j.quality.score, 12);
  });

  it("scores an empty canvas low: no objects, no sharpness, wrong count", () => {
    const data = new Uint8Array(32 * 32 * 3).fill(60);
    const j = judgeImage({ width: 32, height: 32, data }, "a large red circle in the centre");
    expect(j.analysis.objects).toHaveLength(0);
    expect(j.fidelity).toBe(0);
    expect(j.quality.sharpness).toBe(0);
    expect(Number.isFinite(j.score)).toBe(true);
  });

  it("stays finite on degenerate inputs (pure noise, tiny and non-square images)", () => {
    const rng = createRng(1);
    const cases: Array<[number, number, (i: number) => number]> = [
      [32, 32, () => rng.int(256)],
      [1, 1, () => 100],
      [2, 2, (i) => i * 20],
      [20, 12, (i) => (Math.floor(i / 3) % 20 < 10 ? 250 : 10)],
    ];
    for (const [w, h, f] of cases) {
      const features = judgeFeatures(
        judgeImage(
          { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, (_, i) => f(i)) },
          "a red circle on a blue background",
        ),
      );
      for (const [k, v] of Object.entries(features)) expect(Number.isFinite(v), `${w}×${h} ${k}`).toBe(true);
    }
    expect(() => judgeImage({ width: 4, height: 4, data: new Uint8Array(10) }, "a circle")).toThrow(
      /width·height·3 = 48/,
    );
  });

  it("measures colour statistics as defined (warmth, the paper's redness)", () => {
    const data = new Uint8Array(4 * 4 * 3);
    for (let i = 0; i < 16; i++) data.set([200, 100, 0], i * 3);
    const q = analyzeImage({ width: 4, height: 4, data }).quality;
    expect(q.warmth).toBeCloseTo(200 / 255, 6);
    expect(q.redness).toBeCloseTo((200 - 100) / 255, 6);
    expect(q.saturation).toBeCloseTo(1, 6);
    expect(q.brightness).toBeCloseTo((0.299 * 200 + 0.587 * 100) / 255, 6);
  });
});

describe("flawed images score lower on the features they flaw", () => {
  const n = 60;
  const mean = (kind: FlawKind | "clean", feature: JudgeFeature): number => {
    const spec = DEFAULT_TRAINING_MIX.flaws.find((f) => f.kind === kind);
    const mix: TrainingMix = spec === undefined ? CLEAN_MIX : { flaws: [{ ...spec, rate: 1 }] };
    let s = 0;
    for (let i = 0; i < n; i++) {
      const e = sampleExample(50, i, { size: 32, mix });
      s += judgeFeatures(judgeImage(e.image, e.description))[feature];
    }
    return s / n;
  };
  const cases: Array<[FlawKind, JudgeFeature, "lower" | "higher", number]> = [
    ["blur", "sharpness", "lower", 0.2],
    ["desaturate", "saturation", "lower", 0.15],
    ["low-contrast", "contrast", "lower", 0.1],
    ["noise", "artefacts", "higher", 0.5],
    ["shift", "positionFidelity", "lower", 0.1],
    ["swap", "fidelity", "lower", 0.1],
  ];
  for (const [kind, feature, direction, margin] of cases) {
    it(`${kind} → ${feature} ${direction} by ≥ ${margin}`, () => {
      const clean = mean("clean", feature);
      const flawed = mean(kind, feature);
      if (direction === "lower") expect(clean - flawed).toBeGreaterThanOrEqual(margin);
      else expect(flawed - clean).toBeGreaterThanOrEqual(margin);
    });
  }

  it("every flaw lowers the judge score", () => {
    const clean = mean("clean", "judgeScore");
    for (const f of DEFAULT_TRAINING_MIX.flaws)
      expect.soft(mean(f.kind, "judgeScore"), f.kind).toBeLessThan(clean - 0.02);
  });
});
