// A reduced run of Diffusion-KTO's toy experiment (paper §6) with a fixed seed: the qualitative
// ordering the paper reports must hold on the shared objective code path, deterministically, without
// leaking tensors. (`pnpm likewise toy` runs the full version; BENCHMARKS.md records its table.)
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { useBackend } from "../testing/tf";
import { scatterPlot } from "./scatter";
import { KtoError } from "../errors";
import {
  hasDiverged,
  runToyExperiment,
  toyFindings,
  toyStats,
  type ToyMethodResult,
  type ToyStats,
} from "./toy-experiment";

beforeAll(() => useBackend("wasm"));

describe("toy experiment (reduced: 1000 pretraining steps, 400 fine-tuning steps, 1500 samples)", () => {
  // Reproduced here: KTO's finding and SFT's. Not reproduced by this toy at any β we tried (BENCHMARKS.md):
  // loss-averse moves less than KTO and keeps more undesirable samples instead of over-shooting (DPO is the
  // one that over-shoots), and risk-seeking diverges (its utility never saturates on the undesirable side).
  // Those rows are pinned as observed so a change in the objectives shows up. Default 8 draws per point.
  it("KTO raises the desirable share inside the support and avoids the undesirable mode; SFT keeps more undesirable samples", () => {
    const before = tf.memory().numTensors;
    const { results } = runToyExperiment({
      seed: 1,
      pretrainSteps: 1000,
      fineTuneSteps: 400,
      samples: 1500,
      methods: ["kto", "loss-averse", "sft"],
    });
    expect(tf.memory().numTensors).toBe(before);
    const stat = (m: string) => results.find((r) => r.method === m)?.stats ?? toyStats(new Float32Array(2));
    console.log(
      results
        .map(
          (r) =>
            `${r.method}: ${JSON.stringify(Object.fromEntries(Object.entries(r.stats).map(([k, v]) => [k, +v.toFixed(3)])))}`,
        )
        .join("\n"),
    );
    const findings = toyFindings(results);
    const holds: Record<string, boolean> = Object.fromEntries(
      findings.map((f) => [f.claim.split(" ")[0] ?? "", f.holds]),
    );
    expect(holds, findings.map((f) => `${f.claim}: ${f.evidence}`).join("\n")).toEqual({
      KTO: true,
      "loss-averse": false,
      sft: true,
    });
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
    // The trajectory: a checkpoint every 200 steps, the last one at the final step.
    for (const r of results.slice(1)) expect(r.trajectory.map((c) => c.step)).toEqual([200, 400]);
    expect(results.some(hasDiverged)).toBe(false);
  });

  it("a diverged method is judged at its last checkpoint inside the support, against KTO at the same step", () => {
    const st = (nearU: number, out = 0): ToyStats => ({
      nearDesirable: 0.3,
      nearUndesirable: nearU,
      meanDistDesirable: 0.1,
      meanDistUndesirable: 0.2,
      outsideSupport: out,
      outsideDesirable: 0.1,
    });
    const run = (
      method: ToyMethodResult["method"],
      final: ToyStats,
      path: [number, ToyStats][],
      stoppedAt?: number,
    ): ToyMethodResult => ({
      method,
      samples: new Float32Array(0),
      stats: final,
      finalMetrics: {},
      trajectory: path.map(([step, stats]) => ({ step, stats, gradNorm: 1 })),
      ...(stoppedAt !== undefined ? { stoppedAt } : {}),
    });
    const kto = run("kto", st(0.02), [
      [100, st(0.04)],
      [200, st(0.02)],
    ]);
    const claim = (rs: ToyMethodResult[]) =>
      toyFindings([run("pretrained", st(0.03), []), kto, ...rs]).find((f) =>
        f.claim.startsWith("risk-seeking"),
      );
    // Left the support at step 200: judged at step 100, 8% vs KTO's 4% there → holds.
    const left = claim([
      run("risk-seeking", st(0, 0.9), [
        [100, st(0.08, 0.1)],
        [200, st(0, 0.9)],
      ]),
    ]);
    expect(left?.holds).toBe(true);
    expect(left?.evidence).toMatch(/at step 100.*8\.0% vs KTO 4\.0%/);
    // Stopped on a non-finite loss: the final stats are the last checkpoint's; 5% vs 4% at step 100 is not 1.5×.
    const stopped = claim([run("risk-seeking", st(0.05, 0.1), [[100, st(0.05, 0.1)]], 150)]);
    expect(stopped?.holds).toBe(false);
    expect(stopped?.evidence).toMatch(/non-finite at step 151/);
    // Outside the support at every checkpoint → fails.
    expect(
      claim([
        run("risk-seeking", st(0.2, 0.8), [
          [100, st(0.2, 0.6)],
          [200, st(0.2, 0.8)],
        ]),
      ])?.evidence,
    ).toMatch(/before its first checkpoint/);
    // Not diverged: the final table decides (4% vs KTO's 2%), not the checkpoints.
    expect(
      claim([
        run("risk-seeking", st(0.04), [
          [100, st(0)],
          [200, st(0.04)],
        ]),
      ])?.holds,
    ).toBe(true);
  });

  it("rejects draws per point that do not divide the pairs of a batch", () => {
    for (const drawsPerPoint of [0, 1.5, 3, 256])
      expect(() => runToyExperiment({ batchSize: 256, drawsPerPoint, pretrainSteps: 1 })).toThrow(KtoError);
  });

  it("takes the reference point it is given: z = 0 with `zero`, the batch estimate by default; an unknown one is rejected", () => {
    const o = {
      seed: 3,
      pretrainSteps: 60,
      fineTuneSteps: 30,
      samples: 50,
      checkpointEvery: 0,
      methods: ["kto"] as const,
    };
    const z = (referencePoint: "batch" | "zero" | "class-balanced") =>
      runToyExperiment({ ...o, referencePoint }).results[1]?.finalMetrics.referencePoint;
    expect(z("zero")).toBe(0);
    const batch = z("batch") ?? Number.NaN;
    expect(batch).toBeGreaterThan(0); // max(0, mean g): positive once the policy moved
    expect(z("class-balanced")).not.toBe(batch);
    expect(() => runToyExperiment({ ...o, referencePoint: "mismatched" as "batch" })).toThrow(
      /referencePoint must be one of batch, class-balanced, zero/,
    );
  });

  it("is deterministic for a seed, and the scatter plot is a size×size RGB image", () => {
    const o = {
      seed: 2,
      pretrainSteps: 60,
      fineTuneSteps: 20,
      samples: 200,
      methods: ["kto", "dpo"] as const,
    };
    const a = runToyExperiment(o);
    const b = runToyExperiment(o);
    expect(a.results.map((r) => Array.from(r.samples))).toEqual(b.results.map((r) => Array.from(r.samples)));
    const img = scatterPlot(a.results[1]?.samples ?? new Float32Array(), { size: 64 });
    expect(img.data.length).toBe(64 * 64 * 3);
    expect(img.data.some((v) => v < 200)).toBe(true); // something was drawn
  });
});
