// The round config's validation and defaults (stored on the round row; refused with the offending field named).
import { describe, expect, it } from "vitest";

import { POOL_SAMPLING } from "../sampling.ts";

import { parseRoundConfig, RoundConfigError } from "./config.ts";
import { TRAINABLE_SUBSETS } from "@likewise/kto";

import { objectiveSetup, trainableOption } from "./runner.ts";

describe("round config", () => {
  it("defaults follow the digest where they transfer; trainingGuidance defaults to the plain prediction (1)", () => {
    const c = parseRoundConfig({});
    expect(c).toMatchObject({
      objective: "kto",
      beta: 5000,
      utility: "sigmoid",
      positiveRatio: 0.8,
      promptDropout: 0.2,
      trainingGuidance: 1,
    });
    expect(parseRoundConfig({ trainingGuidance: 3 }).trainingGuidance).toBe(3);
  });

  it("paired KTO sampling: off by default, KTO only; objectiveSetup then hands the trainer same-prompt pairs, no γ", () => {
    expect(parseRoundConfig({}).pairedSampling).toBe(false);
    expect(() => parseRoundConfig({ objective: "sft", pairedSampling: true })).toThrow(
      /pairedSampling applies to the kto objective/,
    );
    const data = { prompts: ["a", "a", "b", "b", "c"], labels: Float32Array.from([1, -1, -1, 1, 1]) };
    const paired = objectiveSetup(parseRoundConfig({ pairedSampling: true }), data);
    expect(paired.extra).toEqual({
      pairs: [
        { winner: 0, loser: 1, prompt: "a" },
        { winner: 3, loser: 2, prompt: "b" },
      ],
    });
    expect(objectiveSetup(parseRoundConfig({}), data).extra).toEqual({ positiveRatio: 0.8 });
    expect(() =>
      objectiveSetup(parseRoundConfig({ pairedSampling: true }), {
        prompts: ["a"],
        labels: Float32Array.from([1]),
      }),
    ).toThrow(/kto \(paired\): no prompt has both a liked and a disliked image/);
  });

  it("trainable: the whole UNet by default, or one of packages/kto's named subsets, handed to the trainer as patterns", () => {
    expect(parseRoundConfig({}).trainable).toBe("all");
    expect(trainableOption(parseRoundConfig({}))).toEqual({});
    expect(trainableOption(parseRoundConfig({ trainable: "attn" }))).toEqual({
      trainableParameters: TRAINABLE_SUBSETS.attn,
    });
    // Every named subset of packages/kto is selectable, and nothing else.
    for (const name of Object.keys(TRAINABLE_SUBSETS))
      expect(parseRoundConfig({ trainable: name }).trainable).toBe(name);
    expect(() => parseRoundConfig({ trainable: "lora" })).toThrow(/trainable/);
  });

  it("refuses a training guidance outside [1, 30] and unknown keys, naming the field", () => {
    for (const bad of [0.5, 31, "3"]) {
      expect(() => parseRoundConfig({ trainingGuidance: bad })).toThrow(RoundConfigError);
      expect(() => parseRoundConfig({ trainingGuidance: bad })).toThrow(/trainingGuidance/);
    }
    expect(() => parseRoundConfig({ guidance: 3 })).toThrow(/Unrecognized key: "guidance"/);
  });

  it("the gate samples with the served sampler by default; η is validated in [0, 1]", () => {
    const { gate } = parseRoundConfig({});
    expect([gate.samplingSteps, gate.eta, gate.guidanceScale]).toEqual([
      POOL_SAMPLING.steps,
      POOL_SAMPLING.eta,
      POOL_SAMPLING.guidanceScale,
    ]);
    expect(parseRoundConfig({ gate: { eta: 0, samplingSteps: 20 } }).gate).toMatchObject({
      eta: 0,
      samplingSteps: 20,
    });
    for (const bad of [-0.1, 1.5, "1"])
      expect(() => parseRoundConfig({ gate: { eta: bad } })).toThrow(/gate\.eta/);
  });
});
