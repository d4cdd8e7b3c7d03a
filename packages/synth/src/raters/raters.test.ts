import { describe, expect, it } from "vitest";

import { isSynthError } from "../errors";
import { JUDGE_FEATURES, judgeFeatures, judgeImage, type JudgeFeatures } from "../judge/judge";
import { sampleExample } from "../world/dataset";
import { CLEAN_MIX } from "../world/flaws";
import { getRaterPreset, RATER_PRESET_NAMES, RATER_PRESET_SPECS, RATER_PRESETS } from "./presets";
import { parseRaterSpec, validateRaterSpec, type RaterSpec } from "./spec";
import { assignPersona, likeProbability, personaLikeProbability, simulateVote } from "./vote";

const features = (overrides: Partial<JudgeFeatures>): JudgeFeatures =>
  ({ ...Object.fromEntries(JUDGE_FEATURES.map((f) => [f, 0])), ...overrides }) as JudgeFeatures;

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

describe("rater spec validation", () => {
  const valid = {
    name: "mine",
    population: [
      { name: "a", share: 0.7, kind: "logistic", weights: { fidelity: 4, sharpness: 2 }, bias: -3, noise: 1 },
      { name: "b", share: 0.3, kind: "threshold", feature: "quality", atLeast: 0.8 },
    ],
  };

  it("accepts a valid spec (object or JSON text) and fills noise = 0 by default", () => {
    const spec = parseRaterSpec(JSON.stringify(valid));
    expect(spec.population[1]).toEqual({
      name: "b",
      share: 0.3,
      kind: "threshold",
      feature: "quality",
      atLeast: 0.8,
      noise: 0,
    });
    expect(parseRaterSpec(valid)).toEqual(spec);
  });

  const cases: Array<[string, unknown, RegExp]> = [
    ["not an object", 42, /spec: must be an object/],
    ["missing name", { ...valid, name: "" }, /spec\.name: must be a non-empty string/],
    ["empty population", { ...valid, population: [] }, /spec\.population: must be a non-empty array/],
    ["unknown top-level field", { ...valid, colour: "red" }, /spec\.colour: unknown field/],
    [
      "unknown feature",
      { ...valid, population: [{ ...valid.population[0], weights: { warmness: 1 } }, valid.population[1]] },
      /spec\.population\[0\]\.weights\.warmness: unknown feature/,
    ],
    [
      "non-numeric weight",
      {
        ...valid,
        population: [{ ...valid.population[0], weights: { warmth: "lots" } }, valid.population[1]],
      },
      /spec\.population\[0\]\.weights\.warmth: must be a finite number/,
    ],
    [
      "negative noise",
      { ...valid, population: [{ ...valid.population[0], noise: -1 }, valid.population[1]] },
      /spec\.population\[0\]\.noise: must be a number ≥ 0/,
    ],
    [
      "bad kind",
      { ...valid, population: [valid.population[0], { ...valid.population[1], kind: "vibes" }] },
      /spec\.population\[1\]\.kind: must be "logistic" or "threshold"/,
    ],
    [
      "threshold without atLeast",
      {
        ...valid,
        population: [valid.population[0], { name: "b", share: 0.3, kind: "threshold", feature: "quality" }],
      },
      /spec\.population\[1\]\.atLeast: must be a finite number/,
    ],
    [
      "threshold on an unknown feature",
      { ...valid, population: [valid.population[0], { ...valid.population[1], feature: "beauty" }] },
      /spec\.population\[1\]\.feature: must be one of/,
    ],
    [
      "shares not summing to 1",
      { ...valid, population: [{ ...valid.population[0], share: 0.5 }, valid.population[1]] },
      /spec\.population: shares must sum to 1, got 0\.8/,
    ],
    [
      "share out of range",
      { ...valid, population: [{ ...valid.population[0], share: 1.7 }, valid.population[1]] },
      /spec\.population\[0\]\.share: must be a number in \(0, 1\]/,
    ],
    [
      "duplicate names",
      { ...valid, population: [valid.population[0], { ...valid.population[1], name: "a" }] },
      /spec\.population\[1\]\.name: duplicate persona name "a"/,
    ],
    [
      "field of the other kind",
      { ...valid, population: [{ ...valid.population[0], atLeast: 3 }, valid.population[1]] },
      /spec\.population\[0\]\.atLeast: unknown field/,
    ],
    ["invalid JSON text", "{ nope", /spec: not valid JSON/],
  ];
  for (const [label, input, message] of cases) {
    it(`rejects ${label} with a message naming the field`, () => {
      try {
        parseRaterSpec(input);
        expect.unreachable("should have thrown");
      } catch (e) {
        expect(isSynthError(e, "INVALID_RATER_SPEC")).toBe(true);
        expect((e as Error).message).toMatch(message);
      }
    });
  }

  it("reports every issue at once", () => {
    const result = validateRaterSpec({
      name: 3,
      population: [{ name: "", share: 2, kind: "logistic", weights: {} }],
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues).toHaveLength(4);
  });

  it("ships valid named presets", () => {
    for (const name of RATER_PRESET_NAMES) expect(validateRaterSpec(RATER_PRESET_SPECS[name]).ok).toBe(true);
    expect(getRaterPreset("red")).toBe(RATER_PRESETS.red);
    expect(() => getRaterPreset("blue")).toThrow(/unknown rater preset "blue"/);
  });
});

describe("like probabilities follow the spec", () => {
  const spec: RaterSpec = parseRaterSpec({
    name: "test",
    population: [
      {
        name: "fid",
        share: 0.7,
        kind: "logistic",
        weights: { fidelity: 4, sharpness: 2 },
        bias: -3,
        noise: 0.5,
      },
      { name: "warm", share: 0.3, kind: "threshold", feature: "warmth", atLeast: 0.2, noise: 0.1 },
    ],
  });

  it("computes σ(u / noise) for logistic and σ((f − τ) / noise) for threshold personas", () => {
    const f = features({ fidelity: 0.8, sharpness: 0.5, warmth: 0.3 });
    const [fid, warm] = spec.population;
    if (fid === undefined || warm === undefined) throw new Error("spec lost a persona");
    expect(personaLikeProbability(fid, f)).toBeCloseTo(sigmoid((-3 + 4 * 0.8 + 2 * 0.5) / 0.5), 12);
    expect(personaLikeProbability(warm, f)).toBeCloseTo(sigmoid((0.3 - 0.2) / 0.1), 12);
    expect(likeProbability(spec, f)).toBeCloseTo(0.7 * sigmoid(2.4) + 0.3 * sigmoid(1), 12);
    const hard = parseRaterSpec({
      name: "hard",
      population: [{ name: "h", share: 1, kind: "threshold", feature: "quality", atLeast: 0.5 }],
    });
    expect(likeProbability(hard, features({ quality: 0.5 }))).toBe(1);
    expect(likeProbability(hard, features({ quality: 0.49 }))).toBe(0);
  });

  it("assigns personas in proportion to their shares (binomial 4σ)", () => {
    const n = 20_000;
    let fid = 0;
    for (let r = 0; r < n; r++) if (assignPersona(spec, 7, r).name === "fid") fid++;
    expect(Math.abs(fid / n - 0.7)).toBeLessThan(4 * Math.sqrt((0.7 * 0.3) / n));
  });

  it("votes at the analytic rate per persona and for the population (binomial 4σ, fixed seed)", () => {
    for (const f of [
      features({ fidelity: 0.2, warmth: -0.2 }),
      features({ fidelity: 0.7, sharpness: 0.3, warmth: 0.2 }),
      features({ fidelity: 1, sharpness: 0.8, warmth: 0.5 }),
    ]) {
      const n = 20_000;
      let likes = 0;
      const perPersona = new Map<string, [number, number]>();
      for (let i = 0; i < n; i++) {
        const v = simulateVote(spec, f, { seed: 11, raterId: i % 997, imageId: i });
        if (v.isLiked) likes++;
        const c = perPersona.get(v.persona) ?? [0, 0];
        perPersona.set(v.persona, [c[0] + (v.isLiked ? 1 : 0), c[1] + 1]);
      }
      const p = likeProbability(spec, f);
      const [fid, warm] = spec.population;
      if (fid === undefined || warm === undefined) throw new Error("spec lost a persona");
      // Raters are 997 draws from the population, so the persona mix itself varies: widen by that term.
      const spread = Math.abs(personaLikeProbability(fid, f) - personaLikeProbability(warm, f));
      const sd = Math.sqrt((p * (1 - p)) / n) + spread * Math.sqrt((0.7 * 0.3) / 997);
      expect(Math.abs(likes / n - p)).toBeLessThan(4 * sd);
      for (const persona of spec.population) {
        const [k, m] = perPersona.get(persona.name) ?? [0, 0];
        const q = personaLikeProbability(persona, f);
        expect(Math.abs(k / m - q)).toBeLessThanOrEqual(4 * Math.sqrt((q * (1 - q)) / m) + 1e-12);
      }
    }
  });

  it("is deterministic in (seed, rater, image) and accepts string ids", () => {
    const f = features({ fidelity: 0.7, sharpness: 0.3 });
    const a = simulateVote(spec, f, { seed: 3, raterId: "user-1", imageId: "img-9" });
    expect(simulateVote(spec, f, { seed: 3, raterId: "user-1", imageId: "img-9" })).toEqual(a);
    const personas = new Set(
      Array.from(
        { length: 20 },
        (_, i) => simulateVote(spec, f, { seed: 3, raterId: "user-1", imageId: i }).persona,
      ),
    );
    expect(personas.size).toBe(1);
  });
});

describe("presets on rendered images", () => {
  // 16 px keeps this fast; docs/shapes-world.md lists the 32 px rates too.
  const rows = (mix: "default" | "clean", n: number): JudgeFeatures[] =>
    Array.from({ length: n }, (_, i) => {
      const e = sampleExample(mix === "clean" ? 61 : 60, i, {
        size: 16,
        ...(mix === "clean" ? { mix: CLEAN_MIX } : {}),
      });
      return judgeFeatures(judgeImage(e.image, e.description));
    });
  const flawedSet = rows("default", 240);
  const cleanSet = rows("clean", 160);
  const rate = (spec: RaterSpec, set: JudgeFeatures[]): number =>
    set.reduce((s, f) => s + likeProbability(spec, f), 0) / set.length;

  it("default: 30–60% likes on the flawed training distribution, clearly more on clean renders", () => {
    const flawed = rate(RATER_PRESETS.default, flawedSet);
    const clean = rate(RATER_PRESETS.default, cleanSet);
    expect(flawed).toBeGreaterThanOrEqual(0.3);
    expect(flawed).toBeLessThanOrEqual(0.6);
    expect(clean - flawed).toBeGreaterThanOrEqual(0.12);
  });

  it("fidelity and aesthetic-threshold prefer clean renders; red likes red images", () => {
    for (const name of ["fidelity", "aesthetic-threshold"] as const)
      expect(rate(RATER_PRESETS[name], cleanSet) - rate(RATER_PRESETS[name], flawedSet)).toBeGreaterThan(0.1);
    const reddish = cleanSet.filter((f) => f.redness > 0.25);
    const bluish = cleanSet.filter((f) => f.redness < 0);
    expect(rate(RATER_PRESETS.red, reddish)).toBeGreaterThan(0.9);
    expect(rate(RATER_PRESETS.red, bluish)).toBeLessThan(0.05);
    const warm = cleanSet.filter((f) => f.warmth > 0.3);
    const cool = cleanSet.filter((f) => f.warmth < -0.3);
    expect(rate(RATER_PRESETS.warm, warm) - rate(RATER_PRESETS.warm, cool)).toBeGreaterThan(0.5);
  });
});
