// A reduced run of Diffusion-KTO's toy experiment (paper §6) with a fixed seed: the qualitative
// ordering the paper reports must hold on the shared objective code path, deterministically, without
// leaking tensors. (`pnpm likewise toy` runs the full version; BENCHMARKS.md records its table.)
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { useBackend } from "../testing/tf";
import { scatterPlot } from "./scatter";
import { runToyExperiment, toyFindings, toyStats } from "./toy-experiment";

beforeAll(() => useBackend("wasm"));

describe("toy experiment (reduced: 1000 pretraining steps, 400 fine-tuning steps, 1500 samples)", () => {
  // Reproduced here: KTO's finding and SFT's. Not reproduced by this toy at any β we tried (BENCHMARKS.md):
  // loss-averse stalls near the pretrained model instead of over-shooting (DPO is the one that over-shoots),
  // and risk-seeking diverges (its utility never saturates on the undesirable side). Those rows are pinned
  // as observed so a change in the objectives shows up.
  it("KTO raises the desirable share inside the support and avoids the undesirable mode; SFT keeps more undesirable samples", () => {
    const before = tf.memory().numTensors;
    const { results } = runToyExperiment({ seed: 1, pretrainSteps: 1000, fineTuneSteps: 400, samples: 1500, methods: ["kto", "loss-averse", "sft"] });
    expect(tf.memory().numTensors).toBe(before);
    const stat = (m: string) => results.find((r) => r.method === m)?.stats ?? toyStats(new Float32Array(2));
    console.log(results.map((r) => `${r.method}: ${JSON.stringify(Object.fromEntries(Object.entries(r.stats).map(([k, v]) => [k, +v.toFixed(3)])))}`).join("\n"));
    const findings = toyFindings(results);
    const holds: Record<string, boolean> = Object.fromEntries(findings.map((f) => [f.claim.split(" ")[0] ?? "", f.holds]));
    expect(holds, findings.map((f) => `${f.claim}: ${f.evidence}`).join("\n")).toEqual({ KTO: true, "loss-averse": false, sft: true });
    // The ordering behind those checks, spelled out.
    expect(stat("kto").nearDesirable).toBeGreaterThan(2 * stat("pretrained").nearDesirable);
    expect(stat("kto").nearUndesirable).toBeLessThan(stat("pretrained").nearUndesirable);
    expect(stat("sft").nearUndesirable).toBeGreaterThan(1.5 * stat("kto").nearUndesirable);
    // Loss-averse (per-image log σ) moves less than KTO: contradictory labels keep non-vanishing weights.
    expect(stat("loss-averse").nearDesirable).toBeLessThan(stat("kto").nearDesirable);
    expect(stat("loss-averse").outsideDesirable).toBeGreaterThan(stat("kto").outsideDesirable);
    // KTO's training-time metrics look like a healthy round: desirable rewards above z, undesirable below.
    const m = results.find((r) => r.method === "kto")?.finalMetrics ?? {};
    expect(m.rewardDesirable ?? 0).toBeGreaterThan(m.referencePoint ?? 0);
    expect(m.rewardUndesirable ?? 0).toBeLessThan(m.referencePoint ?? 0);
    expect(m.desirableShare ?? 0).toBeCloseTo(0.8, 1);
  });

  it("is deterministic for a seed, and the scatter plot is a size×size RGB image", () => {
    const o = { seed: 2, pretrainSteps: 60, fineTuneSteps: 20, samples: 200, methods: ["kto", "dpo"] as const };
    const a = runToyExperiment(o);
    const b = runToyExperiment(o);
    expect(a.results.map((r) => Array.from(r.samples))).toEqual(b.results.map((r) => Array.from(r.samples)));
    const img = scatterPlot(a.results[1]?.samples ?? new Float32Array(), { size: 64 });
    expect(img.data.length).toBe(64 * 64 * 3);
    expect(img.data.some((v) => v < 200)).toBe(true); // something was drawn
  });
});
