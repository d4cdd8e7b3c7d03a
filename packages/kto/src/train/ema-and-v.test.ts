// The v-parameterisation (config `prediction`) and the EMA of the weights (TrainOptions.emaDecay):
// v̂ → ε̂ in-graph against the formula, same parameters as the ε model, validation; EMA against its
// recurrence computed by hand, checkpointed and resumed bit-identically, refused when it differs.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { KtoError } from "../errors";
import { createModelConfig, validateModelConfig, type ModelConfig } from "../model/config";
import { initWeights } from "../model/params";
import { describeModel } from "../model/spec-ops";
import { createSchedule } from "../schedule";
import { fixture, useBackend } from "../testing/tf";
import { TOY_MODEL_CONFIG, toySquares } from "../testing/toy-data";
import { tfForward, tfParams } from "../tf/tf-ops";
import { decodeCheckpoint } from "./checkpoint";
import { flattenWeights, createLayout } from "./layout";
import { train, Trainer, type TrainOptions } from "./train";

beforeAll(() => useBackend("wasm"));

const LINEAR = { kind: "linear", steps: 1000 } as const;
const epsConfig = TOY_MODEL_CONFIG;
const vConfig: ModelConfig = { ...TOY_MODEL_CONFIG, prediction: { kind: "v", schedule: LINEAR } };

describe("v-parameterisation", () => {
  it("declares exactly the ε model's parameters", () => {
    expect(describeModel(vConfig).decls).toEqual(describeModel(epsConfig).decls);
  });

  it("returns ε̂ = √ᾱ_t·v̂ + √(1−ᾱ_t)·x_t, v̂ being the ε model's raw output with the same weights", () => {
    const weights = initWeights(describeModel(epsConfig).decls, 3);
    const s = epsConfig.imageSize;
    const L = epsConfig.text.contextLength;
    const n = 3;
    const x = fixture(n * s * s * 3, 5);
    const ts = [0, 517, 999];
    const [raw, viaV] = tf.tidy((): [tf.Tensor, tf.Tensor] => {
      const params = tfParams(new Map([...weights].map(([k, w]) => [k, tf.tensor(w.data, [...w.shape])])));
      const tokens = tf.tensor2d(new Int32Array(n * L).fill(2), [n, L], "int32");
      const xt = tf.tensor4d(x, [n, s, s, 3]);
      const t = tf.tensor1d(ts);
      return [tfForward(epsConfig, params, tokens, xt, t), tfForward(vConfig, params, tokens, xt, t)];
    });
    const v = raw.dataSync();
    const eps = viaV.dataSync();
    tf.dispose([raw, viaV]);
    const ab = createSchedule(LINEAR).alphasCumprod;
    const P = s * s * 3;
    let maxErr = 0;
    for (let i = 0; i < n; i++) {
      const a = ab[ts[i] as number] as number;
      for (let k = 0; k < P; k++) {
        const want = Math.sqrt(a) * (v[i * P + k] as number) + Math.sqrt(1 - a) * (x[i * P + k] as number);
        maxErr = Math.max(maxErr, Math.abs(want - (eps[i * P + k] as number)));
      }
    }
    expect(maxErr).toBeLessThan(1e-6);
    // At t = 999 (ᾱ ≈ 4e-5) the output is almost the input itself: the network only adds the image.
    expect(Math.abs((eps[2 * P] as number) - (x[2 * P] as number))).toBeLessThan(0.02);
  });

  it.each([
    ["an unknown kind", { kind: "x0", schedule: LINEAR }, /prediction must be/],
    ["no schedule", { kind: "v" }, /prediction.schedule/],
    ["a bad schedule", { kind: "v", schedule: { kind: "linear", steps: 1 } }, /prediction.schedule/],
  ])("rejects a prediction with %s", (_n, prediction, message) => {
    expect(() => validateModelConfig({ ...epsConfig, prediction })).toThrow(message);
  });

  it("training refuses a schedule other than the one baked into the graph", async () => {
    const err = await Trainer.create({
      config: vConfig,
      data: toySquares(16, 16, 6, 1),
      seed: 1,
      batchSize: 4,
      workers: 0,
      schedule: { kind: "cosine", steps: 1000 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KtoError);
    expect((err as KtoError).message).toMatch(/bakes in the schedule/);
  });

  it("a v model trains in the loop: its v-MSE (ε-MSE weighted by 1/ᾱ_t) falls", async () => {
    const config = createModelConfig({ ...vConfig });
    const lossWeighting = { kind: "v", max: 1e6 } as const; // unclipped: exactly ‖v̂ − v‖²
    const res = await train({
      config,
      data: toySquares(64, 16, 6, 1),
      seed: 2,
      batchSize: 8,
      learningRate: 2e-3,
      warmupSteps: 5,
      workers: 0,
      steps: 120,
      lossWeighting,
    });
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      `v model: v-MSE first 20 steps ${mean(res.losses.slice(0, 20)).toExponential(3)}, last 20 ${mean(res.losses.slice(-20)).toExponential(3)}`,
    );
    expect(mean(res.losses.slice(-20))).toBeLessThan(0.75 * mean(res.losses.slice(0, 20)));
  });
});

describe("EMA of the weights", () => {
  const data = toySquares(64, 16, 6, 1);
  const opts: TrainOptions = {
    config: epsConfig,
    data,
    seed: 7,
    batchSize: 8,
    learningRate: 2e-3,
    warmupSteps: 2,
    workers: 0,
  };

  it("follows ema ← d·ema + (1 − d)·w with d = min(decay, (1 + step)/(10 + step)) from the initial weights", async () => {
    const decay = 0.9;
    const trainer = await Trainer.create({ ...opts, emaDecay: decay });
    const spec = describeModel(epsConfig);
    const layout = createLayout(spec.decls, () => true);
    const flat = (m: Map<string, { data: Float32Array; shape: readonly number[] }>) =>
      flattenWeights(layout, spec.decls, m);
    let expected = Float64Array.from(flat(trainer.weights()));
    for (let step = 1; step <= 4; step++) {
      await trainer.runStep();
      const d = Math.min(decay, (1 + step) / (10 + step));
      const w = flat(trainer.weights());
      expected = expected.map((e, i) => Math.fround(d * e + (1 - d) * (w[i] as number)));
    }
    const emaMap = trainer.emaWeights();
    if (!emaMap) throw new Error("no EMA weights");
    const ema = flat(emaMap);
    const w = flat(trainer.weights());
    await trainer.close();
    let maxErr = 0;
    let moved = 0;
    for (let i = 0; i < ema.length; i++) {
      maxErr = Math.max(maxErr, Math.abs((ema[i] as number) - (expected[i] as number)));
      moved = Math.max(moved, Math.abs((ema[i] as number) - (w[i] as number)));
    }
    expect(maxErr).toBeLessThan(1e-6);
    expect(moved).toBeGreaterThan(1e-4); // the average lags the weights
  });

  it("is checkpointed: resume is bit-identical, and a run without EMA gives undefined", async () => {
    const straight = await Trainer.create({ ...opts, emaDecay: 0.99 });
    await straight.run({ untilStep: 6 });
    const first = await train({ ...opts, emaDecay: 0.99, steps: 3 });
    expect(decodeCheckpoint(first.checkpoint).header.ema).toEqual({ decay: 0.99 });
    const resumed = await Trainer.create({ ...opts, emaDecay: 0.99, resumeFrom: first.checkpoint });
    await resumed.run({ untilStep: 6 });
    expect(Buffer.from(resumed.checkpoint()).equals(Buffer.from(straight.checkpoint()))).toBe(true);
    const a = resumed.emaWeights();
    const b = straight.emaWeights();
    expect(a && b).toBeTruthy();
    for (const [k, w] of a ?? [])
      expect(
        Buffer.from(w.data.buffer).equals(Buffer.from(b?.get(k)?.data.buffer ?? new ArrayBuffer(0))),
      ).toBe(true);
    await Promise.all([resumed.close(), straight.close()]);
    const plain = await Trainer.create(opts);
    expect(plain.emaWeights()).toBeUndefined();
    await plain.close();
  });

  it("refuses to resume a checkpoint with another EMA decay, and a decay outside (0, 1)", async () => {
    const first = await train({ ...opts, emaDecay: 0.99, steps: 1 });
    await expect(Trainer.create({ ...opts, emaDecay: 0.9, resumeFrom: first.checkpoint })).rejects.toThrow(
      /EMA decay 0.99 differs/,
    );
    await expect(Trainer.create({ ...opts, resumeFrom: first.checkpoint })).rejects.toThrow(
      /EMA decay 0.99 differs/,
    );
    await expect(Trainer.create({ ...opts, emaDecay: 1 })).rejects.toThrow(/emaDecay must be in/);
  });
});
