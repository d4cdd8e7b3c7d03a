// The alignment objectives inside the real training loop, beyond "it trains": per-step metrics streamed
// through progress (and agreeing with the tfjs loss), KTO's reference point over the whole step batch
// however the batch is sharded across workers, the mismatched (rolled-prompt) reference point, DPO pairs
// with shared t/ε, and the positive-ratio sampler.
import { beforeAll, describe, expect, it } from "vitest";

import { initWeights, type WeightMap } from "../model/params";
import { describeModel } from "../model/spec-ops";
import { createSchedule } from "../schedule";
import { TOY_MODEL_CONFIG, toySquares } from "../testing/toy-data";
import { useBackend } from "../testing/tf";
import { DataOrder, makePairMicroBatch } from "../train/batch";
import { Trainer, type StepMetrics, type TrainOptions } from "../train/train";
import { buildDpoPairs } from "./dpo-pairs";
import { ktoOptionsToCodes } from "./options";
import { rollPrompts } from "./reference-point";

const config = TOY_MODEL_CONFIG;
const squares = toySquares(48, 16, 6, 3);
const labels = Float32Array.from(squares.captions, (c) => (c.includes("red") ? 1 : -1));
const data = { ...squares, labels };
const reference = initWeights(describeModel(config).decls, 5);

const copy = (w: WeightMap): WeightMap =>
  new Map([...w].map(([k, v]) => [k, { shape: v.shape, data: v.data.slice() }]));
const relDiff = (a: number | undefined, b: number | undefined): number =>
  Math.abs((a ?? Number.NaN) - (b ?? Number.NaN)) / Math.max(Math.abs(b ?? Number.NaN), 1e-12);
const maxAbsDiff = (a: WeightMap, b: WeightMap): number => {
  let m = 0;
  for (const [k, v] of a) {
    const o = b.get(k)?.data ?? new Float32Array(v.data.length).fill(Number.NaN);
    for (let i = 0; i < v.data.length; i++) m = Math.max(m, Math.abs((v.data[i] ?? 0) - (o[i] ?? 0)));
  }
  return m;
};

const base: TrainOptions = {
  config,
  data,
  seed: 11,
  batchSize: 16,
  learningRate: 2e-3,
  promptDropout: 0,
  workers: 0,
  initialWeights: reference,
  reference,
  freezeTextEncoder: true,
};

async function runSteps(
  o: TrainOptions,
  steps: number,
): Promise<{ metrics: StepMetrics[]; weights: WeightMap }> {
  const trainer = await Trainer.create(o);
  const metrics: StepMetrics[] = [];
  try {
    await trainer.run({ untilStep: steps, onProgress: (p) => metrics.push(p) });
    return { metrics, weights: trainer.weights() };
  } finally {
    await trainer.close();
  }
}

beforeAll(() => useBackend("wasm"));

describe("per-step objective metrics", () => {
  it("KTO streams loss, z, class rewards, accuracy, KL and label mix; the float64 loss equals the tfjs loss", async () => {
    const { metrics } = await runSteps(
      { ...base, objective: "kto", objectiveOptions: ktoOptionsToCodes({ beta: 2000 }) },
      4,
    );
    const [first, ...rest] = metrics;
    // Step 1: πθ = πref, so g = 0 → z = 0, u = 0 → loss = 1 − σ(0) = 0.5, no sample on its side of z, KL 0.
    expect(first?.objective).toMatchObject({
      loss: 0.5,
      referencePoint: 0,
      rewardAccuracy: 0,
      kl: 0,
      rewardDesirable: 0,
      rewardUndesirable: 0,
    });
    for (const m of metrics) {
      const o = m.objective;
      if (!o) throw new Error("no objective metrics");
      // Recomputed on the main thread in float64 from per-sample errors vs the tfjs loss of the gradient pass.
      expect(Math.abs((o.loss ?? Number.NaN) - m.loss)).toBeLessThan(1e-5);
      expect(o.desirableShare).toBeGreaterThan(0);
      expect(o.desirableShare).toBeLessThan(1);
      expect(o.errPolicy).toBeGreaterThan(0);
      expect(o.errRef).toBeGreaterThan(0);
    }
    // After updates the policy has moved away from the reference, and rewards are no longer all zero.
    for (const m of rest) {
      expect(m.objective?.kl).toBeGreaterThan(0);
      expect(
        Math.abs(m.objective?.rewardDesirable ?? 0) + Math.abs(m.objective?.rewardUndesirable ?? 0),
      ).toBeGreaterThan(0);
    }
  });

  it("mse (pretraining) reports no objective metrics", async () => {
    const { metrics } = await runSteps({ ...base, objective: "mse", reference: undefined }, 1);
    expect(metrics[0]?.objective).toBeUndefined();
  });
});

describe("KTO's reference point over the whole step batch", () => {
  it("2 workers (2 shards per step) compute what one in-process engine computes; a per-half z would not", async () => {
    // class-balanced z is not clamped, so it is non-zero from step 2 on and differs between half-batches.
    const o: TrainOptions = {
      ...base,
      objective: "kto",
      objectiveOptions: ktoOptionsToCodes({ beta: 5000, referencePoint: "class-balanced" }),
    };
    const single = await runSteps(o, 3);
    const sharded = await runSteps({ ...o, workers: 2 }, 3);
    // z per half-batch, as a per-shard estimate would be (here: two accumulation micro-batches of 8).
    const perHalf = await runSteps({ ...o, gradientAccumulation: 2 }, 3);
    expect(relDiff(sharded.metrics[0]?.gradNorm, single.metrics[0]?.gradNorm)).toBeLessThan(1e-6);
    for (const i of [1, 2]) {
      const z = single.metrics[i]?.objective?.referencePoint ?? Number.NaN;
      expect(Math.abs(z)).toBeGreaterThan(0);
      expect(relDiff(sharded.metrics[i]?.objective?.referencePoint, z)).toBeLessThan(1e-4);
      // The workers' gradient pass (tfjs, z passed in) gives the loss of the in-process pass (z computed in tfjs) …
      const dSharded = relDiff(sharded.metrics[i]?.loss, single.metrics[i]?.loss);
      expect(dSharded).toBeLessThan(1e-4);
      // … while z per half-batch changes it by far more.
      expect(relDiff(perHalf.metrics[i]?.loss, single.metrics[i]?.loss)).toBeGreaterThan(
        Math.max(10 * dSharded, 1e-3),
      );
    }
  }, 120_000);

  it("mismatched: z comes from forwards on prompts rolled by one across the batch (not clamped; clamped ≥ 0)", async () => {
    const seen: Int32Array[] = [];
    // A reference predictor that records what it is asked (and runs the same reference in tfjs).
    const { evaluatePredictor } = await referencePredictorFor(reference);
    const predictor = (b: { size: number; tokens: Int32Array; xt: Float32Array; t: Float32Array }) => {
      seen.push(b.tokens.slice());
      return evaluatePredictor(b);
    };
    const o: TrainOptions = {
      ...base,
      reference: undefined,
      referencePredictor: predictor,
      objective: "kto",
      objectiveOptions: ktoOptionsToCodes({ beta: 5000, referencePoint: "mismatched" }),
    };
    const { metrics } = await runSteps(o, 3);
    // Per step: the matched micro-batch, then the same micro-batch with rolled prompts.
    expect(seen).toHaveLength(6);
    for (let s = 0; s < 3; s++) {
      expect([...(seen[2 * s + 1] ?? [])]).toEqual([...rollPrompts(seen[2 * s] ?? new Int32Array(), 16, 6)]);
    }
    expect(metrics[0]?.objective?.referencePoint).toBe(0); // πθ = πref
    const zs = metrics.slice(1).map((m) => m.objective?.referencePoint ?? Number.NaN);
    for (const z of zs) expect(Number.isFinite(z) && z !== 0).toBe(true);

    const clamped = await runSteps(
      {
        ...o,
        referencePredictor: evaluatePredictor,
        objectiveOptions: ktoOptionsToCodes({ beta: 5000, referencePoint: "mismatched-clamped" }),
      },
      3,
    );
    clamped.metrics.forEach((m, i) =>
      expect(m.objective?.referencePoint).toBeCloseTo(
        Math.max(0, metrics[i]?.objective?.referencePoint ?? Number.NaN),
        9,
      ),
    );
  }, 120_000);
});

describe("Diffusion-DPO pairs in the loop", () => {
  // Group by position ("top left", …) so each group holds liked (red) and disliked squares.
  const { pairs } = buildDpoPairs(
    squares.captions.map((c) => c.split(" ").slice(3).join(" ")),
    labels,
  );

  it("a pair's winner and loser share t, ε and the prompt; layout [winners, losers]", () => {
    const mb = makePairMicroBatch(data, pairs, config, createSchedule(), {
      seed: 1,
      step: 0,
      pairsPerStep: 4,
      from: 0,
      to: 4,
      promptDropout: 0.5,
      order: new DataOrder(pairs.length, 1),
    });
    const D = 16 * 16 * 3;
    expect(mb.size).toBe(8);
    expect([...(mb.labels ?? [])]).toEqual([1, 1, 1, 1, -1, -1, -1, -1]);
    for (let i = 0; i < 4; i++) {
      expect(mb.t[i]).toBe(mb.t[4 + i]);
      expect(mb.eps.subarray(i * D, (i + 1) * D)).toEqual(mb.eps.subarray((4 + i) * D, (5 + i) * D));
      expect(mb.tokens.subarray(i * 6, (i + 1) * 6)).toEqual(mb.tokens.subarray((4 + i) * 6, (5 + i) * 6));
      expect(mb.xt.subarray(i * D, (i + 1) * D)).not.toEqual(mb.xt.subarray((4 + i) * D, (5 + i) * D));
    }
  });

  it("trains in-process and with 2 workers to the same weights; step 1 loss is log 2; reference untouched", async () => {
    expect(pairs.length).toBeGreaterThan(4);
    const frozen = copy(reference);
    const o: TrainOptions = { ...base, objective: "dpo", objectiveOptions: { beta: 2000 }, pairs };
    const single = await runSteps(o, 3);
    expect(single.metrics[0]?.loss).toBeCloseTo(Math.log(2), 6);
    expect(single.metrics[0]?.objective).toMatchObject({ desirableShare: 0.5, rewardAccuracy: 0 });
    single.metrics.forEach((m) =>
      expect(Math.abs((m.objective?.loss ?? Number.NaN) - m.loss)).toBeLessThan(1e-5),
    );
    const sharded = await runSteps({ ...o, workers: 2 }, 3);
    // Same pairs, t and ε per pair slot however the pairs are sharded: the step-1 gradient agrees to float
    // rounding, later losses to the rounding that β = 2000 amplifies.
    expect(relDiff(sharded.metrics[0]?.gradNorm, single.metrics[0]?.gradNorm)).toBeLessThan(1e-6);
    sharded.metrics.forEach((m, i) => expect(relDiff(m.loss, single.metrics[i]?.loss)).toBeLessThan(1e-4));
    expect(maxAbsDiff(reference, frozen)).toBe(0);
  }, 120_000);

  it("paired KTO: the per-sample KTO loss on [winners, losers] pairs, classes balanced, reference untouched", async () => {
    const frozen = copy(reference);
    const o: TrainOptions = {
      ...base,
      objective: "kto",
      objectiveOptions: ktoOptionsToCodes({ beta: 2000 }),
      pairs,
    };
    const { metrics } = await runSteps(o, 3);
    // Step 1: πθ = πref, so every u is 0 and the sigmoid loss is 1 − σ(0) = ½ on a half-liked batch.
    expect(metrics[0]?.loss).toBeCloseTo(0.5, 6);
    for (const m of metrics) expect(m.objective?.desirableShare).toBe(0.5);
    expect(metrics.slice(1).some((m) => Math.abs(m.loss - 0.5) > 1e-6)).toBe(true);
    expect(maxAbsDiff(reference, frozen)).toBe(0);
    await expect(Trainer.create({ ...o, positiveRatio: 0.8 })).rejects.toThrow(
      /positiveRatio does not apply to pairs/,
    );
  }, 120_000);

  it("refuses DPO without pairs, pairs with another objective, odd batches and out-of-range pairs", async () => {
    await expect(Trainer.create({ ...base, objective: "dpo" })).rejects.toThrow(/needs pairs/);
    await expect(Trainer.create({ ...base, objective: "sft", reference: undefined, pairs })).rejects.toThrow(
      /pairs are for the "dpo" and "kto" objectives, not "sft"/,
    );
    await expect(Trainer.create({ ...base, objective: "dpo", pairs, batchSize: 7 })).rejects.toThrow(
      /2 × a multiple/,
    );
    await expect(
      Trainer.create({ ...base, objective: "dpo", pairs: [{ winner: 0, loser: 999 }] }),
    ).rejects.toThrow(/outside the training set/);
  });
});

describe("positive-ratio sampling (γ) in the loop", () => {
  it("γ = 0.8 makes ~80% of drawn samples desirable although 1/3 of the data is", async () => {
    const share = labels.filter((y) => y > 0).length / labels.length;
    expect(share).toBeLessThan(0.5);
    const { metrics } = await runSteps(
      { ...base, reference: undefined, objective: "sft", positiveRatio: 0.8, learningRate: 1e-4 },
      12,
    );
    const mix = metrics.reduce((s, m) => s + (m.objective?.desirableShare ?? Number.NaN), 0) / metrics.length;
    // 192 draws: binomial sd ≈ 0.029, so ±0.1 is > 3 sd.
    expect(Math.abs(mix - 0.8)).toBeLessThan(0.1);
    await expect(
      Trainer.create({ ...base, objective: "sft", reference: undefined, positiveRatio: 1.5 }),
    ).rejects.toThrow(/positiveRatio must be in/);
    await expect(
      Trainer.create({ ...base, data: squares, objective: "mse", reference: undefined, positiveRatio: 0.5 }),
    ).rejects.toThrow(/needs a training set with labels/);
  }, 60_000);
});

/** ε_ref through the reference weights in tfjs (what ONNX Runtime computes in the trainer). */
async function referencePredictorFor(weights: WeightMap) {
  const tf = await import("@tensorflow/tfjs");
  const { tfForward, tfParams } = await import("../tf/tf-ops");
  const params = new Map([...weights].map(([k, v]) => [k, tf.tensor(v.data, [...v.shape])]));
  const evaluatePredictor = (b: {
    size: number;
    tokens: Int32Array;
    xt: Float32Array;
    t: Float32Array;
  }): Float32Array =>
    tf.tidy(() => {
      const out = tfForward(
        config,
        tfParams(params),
        tf.tensor2d(b.tokens, [b.size, 6], "int32"),
        tf.tensor4d(b.xt, [b.size, 16, 16, 3]),
        tf.tensor1d(b.t),
      );
      return out.dataSync() as Float32Array;
    });
  return { evaluatePredictor };
}
