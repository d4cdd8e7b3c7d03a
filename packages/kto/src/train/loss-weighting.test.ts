// Timestep weighting of the pretraining loss (batch.ts LossWeighting): the weight table against its formula,
// the weighted MSE against hand-computed values, and the loop wiring — the weights reach the objective in-process
// and through workers, are recorded in the checkpoint, and are refused where they do not apply.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { KtoError } from "../errors";
import { createSchedule, DEFAULT_SCHEDULE } from "../schedule";
import { TOY_MODEL_CONFIG, toySquares } from "../testing/toy-data";
import { useBackend } from "../testing/tf";
import { DataOrder, lossWeightTable, makeMicroBatch } from "./batch";
import { decodeCheckpoint } from "./checkpoint";
import { denoisingMse, MSE_OBJECTIVE, weightedDenoisingMse } from "./objective";
import { evaluateLoss, Trainer, type TrainOptions } from "./train";

const config = TOY_MODEL_CONFIG;
const data = toySquares(64, 16, 6, 3);
const base: TrainOptions = {
  config,
  data,
  seed: 11,
  batchSize: 8,
  learningRate: 2e-3,
  promptDropout: 0.1,
  workers: 0,
  lossWeighting: { kind: "v", max: 50 },
};

beforeAll(() => useBackend("wasm"));

describe("the v weight table", () => {
  const schedule = createSchedule(DEFAULT_SCHEDULE);
  const table = lossWeightTable({ kind: "v", max: 50 }, schedule) as Float32Array;

  it("is min(1/ᾱ_t, max) normalised to mean 1, non-decreasing in t, flat at the truncation", () => {
    expect(table).toHaveLength(1000);
    const mean = table.reduce((s, v) => s + v, 0) / table.length;
    expect(mean).toBeCloseTo(1, 5);
    for (let t = 1; t < table.length; t++)
      expect(table[t] as number).toBeGreaterThanOrEqual((table[t - 1] as number) - 1e-6);
    // ratio between two steps is the ratio of the raw weights: 1/ᾱ_500 vs 1/ᾱ_0 (both below the truncation)
    const a = schedule.alphasCumprod;
    expect((table[300] as number) / (table[0] as number)).toBeCloseTo(
      (a[0] as number) / (a[300] as number),
      3,
    );
    expect((table[999] as number) / (table[0] as number)).toBeCloseTo(50 * (a[0] as number), 3); // 1/ᾱ_999 ≈ 2.5e4 > 50
    // DDPM linear schedule: ᾱ_t drops below 1/50 between t = 600 and 650, so about 37% of steps sit at the cap
    const capped = table.filter((v) => Math.abs(v - (table[999] as number)) < 1e-6).length;
    expect(capped).toBeGreaterThan(330);
    expect(capped).toBeLessThan(420);
  });

  it("is absent without a weighting", () => {
    expect(lossWeightTable(undefined, schedule)).toBeUndefined();
  });
});

describe("weighted denoising MSE", () => {
  it("equals the plain MSE with unit weights, and weights each sample's mean squared error", () => {
    const eps = tf.tensor4d([0, 0, 0, 0, 0, 0, 0, 0], [2, 2, 2, 1]);
    const pred = tf.tensor4d([1, 1, 1, 1, 2, 0, 0, 0], [2, 2, 2, 1]); // per-sample MSE 1 and 1
    const plain = denoisingMse(pred, eps).dataSync()[0];
    const unit = weightedDenoisingMse(pred, eps, tf.tensor1d([1, 1])).dataSync()[0];
    const skewed = weightedDenoisingMse(pred, eps, tf.tensor1d([3, 0.5])).dataSync()[0];
    expect(plain).toBeCloseTo(1, 6);
    expect(unit).toBeCloseTo(1, 6);
    expect(skewed).toBeCloseTo((3 * 1 + 0.5 * 1) / 2, 6);
    const byObjective = MSE_OBJECTIVE.loss(
      { epsPolicy: pred, eps, t: tf.tensor1d([0, 1]), sampleWeights: tf.tensor1d([0, 2]) },
      {},
    ).dataSync()[0];
    expect(byObjective).toBeCloseTo((0 + 2 * 1) / 2, 6);
    tf.disposeVariables();
  });
});

describe("the training loop with lossWeighting", () => {
  it("the first step's loss is the weighted MSE of the batch it drew, in-process and with 2 workers", async () => {
    const schedule = createSchedule(DEFAULT_SCHEDULE);
    const table = lossWeightTable({ kind: "v", max: 50 }, schedule) as Float32Array;
    const mb = makeMicroBatch(data, config, schedule, {
      seed: base.seed,
      step: 0,
      batchSize: 8,
      from: 0,
      to: 8,
      promptDropout: 0.1,
      order: new DataOrder(data.size, base.seed),
      weights: table,
    });
    expect(mb.sampleWeights).toEqual(Float32Array.from(mb.t, (t) => table[t] ?? Number.NaN));

    const inProcess = await Trainer.create(base);
    const expected = evaluateLoss(config, inProcess.weights(), mb);
    const plain = evaluateLoss(config, inProcess.weights(), { ...mb, sampleWeights: undefined });
    const before = tf.memory().numTensors;
    const m1 = await inProcess.runStep();
    expect(tf.memory().numTensors).toBe(before);
    const header = decodeCheckpoint(inProcess.checkpoint()).header;
    await inProcess.close();

    const pooled = await Trainer.create({ ...base, workers: 2 });
    const m2 = await pooled.runStep();
    await pooled.close();

    expect(Math.abs(plain - expected)).toBeGreaterThan(1e-3); // the weights change the loss
    expect(m1.loss).toBeCloseTo(expected, 5);
    expect(m2.loss).toBeCloseTo(expected, 4); // shards of 4 + 4: float summation order aside
    expect(header.training.lossWeighting).toEqual({ kind: "v", max: 50 });
  });

  it("is refused for alignment objectives and for a truncation below 1", async () => {
    const refuse = async (o: TrainOptions, msg: RegExp) => {
      const err = await Trainer.create(o).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(KtoError);
      expect((err as KtoError).code).toBe("INVALID_TRAIN_OPTIONS");
      expect((err as KtoError).message).toMatch(msg);
    };
    await refuse({ ...base, lossWeighting: { kind: "v", max: 0.5 } }, /max ≥ 1/);
    const labels = Float32Array.from({ length: data.size }, (_v, i) => (i % 2 ? 1 : -1));
    await refuse({ ...base, data: { ...data, labels }, objective: "sft" }, /applies to the "mse"/);
  });
});
