// The training loop end to end on the wasm backend: learning on a toy set, bit-identical resume,
// determinism, tensor hygiene, cancellation, data-parallel workers (incl. a crashed worker), and
// the clear errors of issue 3 (batch over the cap, NaN loss, bad options).
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { KtoError } from "../errors";
import { createModelConfig } from "../model/config";
import { TOY_MODEL_CONFIG, TOY_VOCABULARY, toySquares } from "../testing/toy-data";
import { useBackend } from "../testing/tf";
import {
  evaluateLoss,
  evaluationBatch,
  guidedReferencePredictor,
  maxMicroBatch,
  train,
  Trainer,
  type ReferencePredictor,
  type TrainOptions,
} from "./train";
import { decodeCheckpoint } from "./checkpoint";
import { denoisingMse, type Objective } from "./objective";
import { tfForward, tfParams } from "../tf/tf-ops";

const config = TOY_MODEL_CONFIG;
const data = toySquares(128, 16, 6, 1);
// In-process (workers: 0) unless a test is about workers: faster, and tf.memory() is observable.
const base: TrainOptions = {
  config,
  data,
  seed: 7,
  batchSize: 8,
  learningRate: 2e-3,
  warmupSteps: 5,
  promptDropout: 0.1,
  workers: 0,
};

async function expectKtoError(
  p: Promise<unknown> | (() => unknown),
  code: string,
  message?: RegExp,
): Promise<KtoError> {
  let err: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected KtoError ${code}`).toBeInstanceOf(KtoError);
  expect((err as KtoError).code).toBe(code);
  if (message) expect((err as KtoError).message).toMatch(message);
  return err as KtoError;
}

const bitsEqual = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length &&
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function weightsBitsEqual(
  a: Map<string, { data: Float32Array }>,
  b: Map<string, { data: Float32Array }>,
): boolean {
  return (
    a.size === b.size && [...a].every(([n, w]) => bitsEqual(w.data, b.get(n)?.data ?? new Float32Array()))
  );
}

beforeAll(() => useBackend("wasm"));

describe("training on toy coloured squares", () => {
  it("300 steps lower the denoising loss on a fixed evaluation batch markedly", async () => {
    const evalBatch = evaluationBatch(data, config, 64, 99);
    const trainer = await Trainer.create({ ...base, batchSize: 16 });
    const before = evaluateLoss(config, trainer.weights(), evalBatch);
    const res = await trainer.run({ untilStep: 300 });
    const after = evaluateLoss(config, trainer.weights(), evalBatch);
    await trainer.close();
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      `toy training: evaluation-batch MSE ${before.toFixed(4)} → ${after.toFixed(4)}; ` +
        `train loss first 20 steps ${mean(res.losses.slice(0, 20)).toFixed(4)}, last 20 ${mean(res.losses.slice(-20)).toFixed(4)}`,
    );
    expect(res.status).toBe("completed");
    expect(after).toBeLessThan(0.5 * before);
    expect(mean(res.losses.slice(-20))).toBeLessThan(0.6 * mean(res.losses.slice(0, 20)));
  });
});

describe("checkpoints and determinism", () => {
  const opts: TrainOptions = { ...base, gradientAccumulation: 2, promptDropout: 0.5 };

  it("resuming from a checkpoint reproduces the uninterrupted run bit-identically", async () => {
    const straight = await train({ ...opts, steps: 6 });
    const first = await train({ ...opts, steps: 3 });
    expect(decodeCheckpoint(first.checkpoint).header.step).toBe(3);
    const resumed = await train({ ...opts, steps: 6, resumeFrom: first.checkpoint });
    expect([...first.losses, ...resumed.losses]).toEqual(straight.losses);
    expect(weightsBitsEqual(resumed.weights, straight.weights)).toBe(true);
    expect(Buffer.from(resumed.checkpoint).equals(Buffer.from(straight.checkpoint))).toBe(true);
  });

  it("with 2 workers, resume is bit-identical too; a 24 px model trains through the 24 → 12 → 6 path", async () => {
    const cfg24 = createModelConfig({ ...config, imageSize: 24 });
    const set24 = toySquares(32, 24, 6, 2);
    const o: TrainOptions = { ...opts, config: cfg24, data: set24, workers: 2 };
    const straight = await train({ ...o, steps: 4 });
    const first = await train({ ...o, steps: 2 });
    const resumed = await train({ ...o, steps: 4, resumeFrom: first.checkpoint });
    expect(weightsBitsEqual(resumed.weights, straight.weights)).toBe(true);
    expect(straight.losses.every(Number.isFinite)).toBe(true);
  });

  it("the same seed gives bit-identical weights; another seed does not", async () => {
    const a = await train({ ...opts, steps: 2 });
    const b = await train({ ...opts, steps: 2 });
    const c = await train({ ...opts, seed: 8, steps: 2 });
    expect(weightsBitsEqual(a.weights, b.weights)).toBe(true);
    expect(weightsBitsEqual(a.weights, c.weights)).toBe(false);
  });

  it("refuses a checkpoint written for another config", async () => {
    const ck = (await train({ ...opts, steps: 1 })).checkpoint;
    const other = createModelConfig({ ...config, channels: [8, 16, 16] });
    await expectKtoError(
      Trainer.create({ ...opts, config: other, resumeFrom: ck }),
      "BAD_CHECKPOINT",
      /different model config/,
    );
    await expectKtoError(Trainer.create({ ...opts, resumeFrom: ck.slice(0, 100) }), "BAD_CHECKPOINT");
  });
});

describe("tensor hygiene, freezing, progress and cancellation", () => {
  it("tf.memory().numTensors is unchanged across steps, and zero after close()", async () => {
    const before = tf.memory().numTensors;
    const trainer = await Trainer.create(base);
    await trainer.runStep();
    const afterOne = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) await trainer.runStep();
    expect(tf.memory().numTensors).toBe(afterOne);
    await trainer.close();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("evaluateLoss and denoisingMse leave no tensors behind", async () => {
    const trainer = await Trainer.create(base);
    const w = trainer.weights();
    await trainer.close();
    const before = tf.memory().numTensors;
    const loss = evaluateLoss(config, w, evaluationBatch(data, config, 4, 1));
    expect(Number.isFinite(loss)).toBe(true);
    const a = tf.ones([2, 3]);
    const b = tf.zeros([2, 3]);
    const mse = denoisingMse(a, b);
    expect(mse.dataSync()[0]).toBe(1);
    tf.dispose([a, b, mse]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("freezeTextEncoder leaves text.* bit-identical and moves the UNet", async () => {
    const trainer = await Trainer.create({ ...base, freezeTextEncoder: true });
    const w0 = trainer.weights();
    await trainer.run({ untilStep: 2 });
    const w1 = trainer.weights();
    await trainer.close();
    for (const [name, w] of w0) {
      if (name.startsWith("text."))
        expect(bitsEqual(w.data, w1.get(name)?.data ?? new Float32Array())).toBe(true);
    }
    expect(
      bitsEqual(
        w0.get("unet.conv_in.w")?.data ?? new Float32Array(),
        w1.get("unet.conv_in.w")?.data ?? new Float32Array(),
      ),
    ).toBe(false);
  });

  it("trainableParameters trains only the matching parameters; the rest stay bit-identical", async () => {
    const trainer = await Trainer.create({
      ...base,
      freezeTextEncoder: true,
      trainableParameters: ["unet.*attn*", "unet.out.*"],
    });
    const w0 = trainer.weights();
    await trainer.run({ untilStep: 2 });
    const w1 = trainer.weights();
    const header = decodeCheckpoint(trainer.checkpoint()).header;
    await trainer.close();
    const moved = (name: string): boolean =>
      !bitsEqual(w0.get(name)?.data ?? new Float32Array(), w1.get(name)?.data ?? new Float32Array());
    const names = [...w0.keys()];
    const selected = names.filter((n) => /^unet\..*attn.*$/.test(n) || n.startsWith("unet.out."));
    expect(selected.length).toBeGreaterThan(2);
    for (const name of names) {
      if (!selected.includes(name)) expect(moved(name), name).toBe(false);
    }
    // Adam moves every trained tensor on its first step (no gradient is exactly zero here).
    expect(selected.filter(moved)).toEqual(selected);
    expect(header.training.trainableParameters).toEqual(["unet.*attn*", "unet.out.*"]);
  });

  it("refuses trainableParameters patterns that match nothing, or leave nothing to train", async () => {
    await expect(
      Trainer.create({ ...base, trainableParameters: ["unet.*attn*", "unet.atn*"] }),
    ).rejects.toThrow(/no parameter matches "unet\.atn\*"/);
    await expect(
      Trainer.create({ ...base, freezeTextEncoder: true, trainableParameters: ["text.*"] }),
    ).rejects.toThrow(/no trainable parameter left/);
    await expect(Trainer.create({ ...base, trainableParameters: [] })).rejects.toThrow(
      /trainableParameters must list at least one/,
    );
  });

  it("reports progress (step, loss, img/s, ETA) and stops cleanly when the signal aborts", async () => {
    const ac = new AbortController();
    let now = 0;
    const seen: { step: number; ips: number | null; eta: number | null }[] = [];
    const res = await train({
      ...base,
      steps: 10,
      clock: () => (now += 500), // each reading advances 0.5 s
      signal: ac.signal,
      onProgress: (p) => {
        seen.push({ step: p.step, ips: p.imagesPerSecond, eta: p.etaSeconds });
        if (p.step === 3) ac.abort();
      },
    });
    expect(res.status).toBe("cancelled");
    expect(res.step).toBe(3);
    expect(seen.map((s) => s.step)).toEqual([1, 2, 3]);
    expect(seen[0]?.ips).toBeCloseTo(16, 6); // batch 8 per 0.5 s
    expect(seen[2]?.eta).toBeCloseTo(3.5, 6); // 7 steps left × 0.5 s
  });
});

describe("objectives with a frozen reference", () => {
  // A toy objective that needs ε_ref: pull the policy towards the reference.
  const distill: Objective = {
    name: "distill-test",
    needsReference: true,
    loss: ({ epsPolicy, epsRef }) => {
      if (!epsRef) throw new Error("no epsRef");
      return tf.tidy(() => tf.mean(tf.square(tf.sub(epsPolicy, epsRef))));
    },
  };

  it("ε_ref from a referencePredictor (e.g. ONNX Runtime) equals running the reference weights in tfjs", async () => {
    const refWeights = (await train({ ...base, steps: 2 })).weights;
    const viaWeights = await train({ ...base, seed: 9, steps: 2, objective: distill, reference: refWeights });
    const params = new Map([...refWeights].map(([n, w]) => [n, tf.tensor(w.data, [...w.shape])]));
    const predict: ReferencePredictor = (b) => {
      const s = config.imageSize;
      const eps = tf.tidy(() =>
        tfForward(
          config,
          tfParams(params),
          tf.tensor2d(b.tokens, [b.size, config.text.contextLength], "int32"),
          tf.tensor4d(b.xt, [b.size, s, s, 3]),
          tf.tensor1d(b.t),
        ),
      );
      const out = eps.dataSync() as Float32Array;
      eps.dispose();
      return out;
    };
    const viaPredictor = await train({
      ...base,
      seed: 9,
      steps: 2,
      objective: distill,
      referencePredictor: predict,
    });
    for (const p of params.values()) p.dispose();
    viaPredictor.losses.forEach((l, i) => expect(l).toBeCloseTo(viaWeights.losses[i] ?? NaN, 6));
    expect(viaWeights.losses[0]).toBeGreaterThan(0);
    await expectKtoError(
      Trainer.create({ ...base, objective: distill }),
      "INVALID_TRAIN_OPTIONS",
      /needs reference weights or a referencePredictor/,
    );
  });
});

describe("training the classifier-free-guided prediction (guidanceScale)", () => {
  // Pull the policy's prediction towards the reference's: zero exactly when both predict the same ε.
  const distill: Objective = {
    name: "distill-guided-test",
    needsReference: true,
    loss: ({ epsPolicy, epsRef }) =>
      tf.tidy(() => tf.mean(tf.square(tf.sub(epsPolicy, epsRef as tf.Tensor)))),
  };
  const s = config.imageSize;
  const forwardWith = (
    params: Map<string, tf.Tensor>,
    tokens: Int32Array,
    xt: Float32Array,
    t: Float32Array,
    n: number,
  ): Float32Array => {
    const eps = tf.tidy(() =>
      tfForward(
        config,
        tfParams(params),
        tf.tensor2d(tokens, [n, config.text.contextLength], "int32"),
        tf.tensor4d(xt, [n, s, s, 3]),
        tf.tensor1d(t),
      ),
    );
    const out = eps.dataSync() as Float32Array;
    eps.dispose();
    return out;
  };

  it("guidedReferencePredictor returns ε_u + w·(ε_c − ε_u); the engine trains the same guided prediction, in-process and in a worker", async () => {
    const R = (await train({ ...base, steps: 2 })).weights;
    const params = new Map([...R].map(([n, w]) => [n, tf.tensor(w.data, [...w.shape])]));
    const plain: ReferencePredictor = (b) => forwardWith(params, b.tokens, b.xt, b.t, b.size);
    const guided = guidedReferencePredictor(plain, 3);
    expect(guidedReferencePredictor(plain, 1)).toBe(plain);

    // The helper against the formula, on two rows of the toy set.
    const n = 2;
    const L = config.text.contextLength;
    const tokens = data.tokens.slice(0, n * L);
    const xt = data.images.slice(0, n * s * s * 3);
    const t = Float32Array.from([100, 700]);
    const c = forwardWith(params, tokens, xt, t, n);
    const u = forwardWith(params, new Int32Array(n * L), xt, t, n);
    const g = await guided({ size: n, tokens, xt, t });
    let maxDiff = 0;
    let maxGap = 0;
    g.forEach((v, i) => {
      const want = (u[i] as number) + 3 * ((c[i] as number) - (u[i] as number));
      maxDiff = Math.max(maxDiff, Math.abs(v - want));
      maxGap = Math.max(maxGap, Math.abs(want - (c[i] as number)));
    });
    expect(maxDiff).toBeLessThan(1e-5);
    expect(maxGap).toBeGreaterThan(1e-3); // guidance changes the prediction: the checks below can tell them apart

    // Policy = reference weights: the guided policy matches the guided reference exactly, not the plain one.
    const same = { ...base, seed: 9, steps: 1, objective: distill, initialWeights: R, guidanceScale: 3 };
    expect((await train({ ...same, referencePredictor: guided })).losses[0]).toBeLessThan(1e-10);
    expect((await train({ ...same, referencePredictor: plain })).losses[0]).toBeGreaterThan(1e-4);
    // From other weights: the reference's weights in tfjs (the engine guides them too) = the guided predictor,
    // and a worker engine trains the same thing.
    const other = { ...base, seed: 9, steps: 2, objective: distill, guidanceScale: 3 };
    const viaWeights = await train({ ...other, reference: R });
    const viaPredictor = await train({ ...other, referencePredictor: guided });
    const viaWorker = await train({ ...other, objective: "mse", workers: 1 });
    const inProcess = await train({ ...other, objective: "mse" });
    for (const p of params.values()) p.dispose();
    viaPredictor.losses.forEach((l, i) => expect(l).toBeCloseTo(viaWeights.losses[i] ?? NaN, 6));
    expect(viaWeights.losses[0]).toBeGreaterThan(0);
    viaWorker.losses.forEach((l, i) => expect(l).toBeCloseTo(inProcess.losses[i] ?? NaN, 5));
    const unguided = await train({ ...other, objective: "mse", guidanceScale: 1 });
    expect(unguided.losses[0]).not.toBeCloseTo(inProcess.losses[0] ?? NaN, 5);
    for (const bad of [0, -1, Number.NaN, 31]) {
      await expectKtoError(
        Trainer.create({ ...base, guidanceScale: bad }),
        "INVALID_TRAIN_OPTIONS",
        /guidanceScale must be in \(0, 30\]/,
      );
    }
  });
});

describe("clear errors", () => {
  it("a batch over the wasm heap cap → BATCH_TOO_LARGE (32 px default model)", async () => {
    const big = createModelConfig({ text: { vocabSize: TOY_VOCABULARY.length } });
    const cap = maxMicroBatch(big);
    expect(cap).toBeGreaterThanOrEqual(48); // B64 measured 3.4 GB of heap, B80 aborted
    expect(cap).toBeLessThan(80);
    const set32 = toySquares(4, 32, 8, 1);
    await expectKtoError(
      Trainer.create({ ...base, config: big, data: set32, batchSize: 96 }),
      "BATCH_TOO_LARGE",
      /Raise gradientAccumulation/,
    );
    // The same batch is accepted once split by accumulation (the cap is per micro-batch).
    const ok = await Trainer.create({
      ...base,
      config: big,
      data: set32,
      batchSize: 96,
      gradientAccumulation: 2,
    });
    await ok.close();
  });

  it("a NaN loss → NON_FINITE_LOSS, weights untouched", async () => {
    const images = data.images.slice();
    images.fill(Number.NaN, 0, 16 * 16 * 3 * 128);
    const trainer = await Trainer.create({ ...base, data: { ...data, images } });
    const w0 = trainer.weights();
    await expectKtoError(trainer.runStep(), "NON_FINITE_LOSS", /loss became NaN .* at step 1/);
    expect(weightsBitsEqual(trainer.weights(), w0)).toBe(true);
    await trainer.close();
  });

  it("initial weights with a missing or misshapen parameter → WEIGHTS_MISMATCH", async () => {
    const trainer = await Trainer.create(base);
    const w = trainer.weights();
    await trainer.close();
    const missing = new Map(w);
    missing.delete("unet.conv_in.w");
    await expectKtoError(
      Trainer.create({ ...base, initialWeights: missing }),
      "WEIGHTS_MISMATCH",
      /missing parameter unet.conv_in.w/,
    );
    const misshapen = new Map(w).set("unet.conv_in.b", { shape: [3], data: new Float32Array(3) });
    await expectKtoError(
      Trainer.create({ ...base, initialWeights: misshapen }),
      "WEIGHTS_MISMATCH",
      /unet.conv_in.b has shape \[3\]/,
    );
  });

  it("bad options → INVALID_TRAIN_OPTIONS; unknown family → INVALID_CONFIG", async () => {
    await expectKtoError(
      Trainer.create({ ...base, batchSize: 6, gradientAccumulation: 4 }),
      "INVALID_TRAIN_OPTIONS",
      /not divisible/,
    );
    await expectKtoError(Trainer.create({ ...base, learningRate: -1 }), "INVALID_TRAIN_OPTIONS");
    await expectKtoError(
      Trainer.create({ ...base, config: { ...config, family: "huge" as "tiny" } }),
      "INVALID_CONFIG",
      /unknown family/,
    );
    await expect(Trainer.create({ ...base, objective: "nope" })).rejects.toThrow(/unknown objective "nope"/);
  });
});

describe("data-parallel workers", () => {
  it("2 workers train like one thread (same batches; float summation order aside)", async () => {
    const single = await train({ ...base, steps: 3 });
    const parallel = await train({ ...base, steps: 3, workers: 2 });
    expect(parallel.backend.name).toBe("wasm");
    parallel.losses.forEach((l, i) => expect(l).toBeCloseTo(single.losses[i] ?? NaN, 4));
    let maxDiff = 0;
    for (const [n, w] of single.weights) {
      const p = parallel.weights.get(n)?.data ?? new Float32Array();
      w.data.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - (p[i] ?? NaN)))));
    }
    expect(maxDiff).toBeLessThan(1e-4);
    // Shards are handed out dynamically, but summed in shard order: runs stay bit-identical.
    const again = await train({ ...base, steps: 3, workers: 2 });
    expect(weightsBitsEqual(again.weights, parallel.weights)).toBe(true);
  });

  it("a crashed worker (simulated wasm abort) is restarted and the step retried; past the limit it surfaces as WORKER_CRASHED", async () => {
    const trainer = await Trainer.create({ ...base, workers: 1 });
    await trainer.runStep();
    trainer.workerPool?.crashForTest(0);
    await new Promise((r) => setTimeout(r, 200));
    const m = await trainer.runStep();
    expect(m.step).toBe(2);
    expect(trainer.workerPool?.restarts).toBe(1);
    await trainer.close();

    const strict = await Trainer.create({ ...base, workers: 1, maxWorkerRestarts: 0 });
    strict.workerPool?.crashForTest(0);
    await new Promise((r) => setTimeout(r, 200));
    await expectKtoError(strict.runStep(), "WORKER_CRASHED", /training worker 0/);
    expect(strict.step).toBe(0);
    await strict.close();
  });

  it("a real wasm heap exhaustion in a worker (cap lifted, 16 px batch 1000) surfaces as WORKER_CRASHED and the process lives on", async () => {
    const cfg16 = createModelConfig({ imageSize: 16, text: { vocabSize: TOY_VOCABULARY.length } });
    const trainer = await Trainer.create({
      ...base,
      config: cfg16,
      data: toySquares(16, 16, 8, 3),
      batchSize: 1000,
      workers: 1,
      maxHeapBytes: 1e12,
      maxWorkerRestarts: 0,
    });
    const err = await expectKtoError(trainer.runStep(), "WORKER_CRASHED");
    console.log(`real wasm OOM surfaced as: ${err.message}`);
    await trainer.close();
    // This process's own tfjs backend is untouched.
    expect(tf.tidy(() => tf.sum(tf.ones([4])).dataSync()[0])).toBe(4);
  });
});
