// Diffusion-KTO / DPO with the frozen reference model in ONNX Runtime (the reference never changes during
// a round, and ORT runs this UNet ~10× faster per FLOP than tfjs-wasm): the parent's exported graph,
// served by @likewise/serving's ModelHost, stands in for the reference weights in tfjs. Proves the
// training losses and metrics agree with the all-tfjs path within tolerance, step by step.
import { beforeAll, describe, expect, test } from "vitest";

import {
  createModelConfig,
  describeModel,
  exportVerifiedOnnx,
  initBackend,
  initWeights,
  ktoOptionsToCodes,
  Trainer,
  type ReferencePredictor,
  type StepMetrics,
  type TrainOptions,
} from "@likewise/kto";
import { ModelHost } from "@likewise/serving";

const L = 6;
const S = 16;
const cfg = createModelConfig({
  imageSize: S,
  channels: [16, 32, 32],
  attentionHeads: 4,
  timeEmbedDim: 16,
  timeHiddenDim: 64,
  text: { vocabSize: 12, contextLength: L, dim: 32, layers: 1, heads: 4, mlpRatio: 2 },
});
const parent = initWeights(describeModel(cfg).decls, 21);

// A small labelled set: random images and prompts, every other image liked.
const N = 32;
const P = S * S * 3;
let state = 12345;
const rand = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const data = {
  size: N,
  tokens: Int32Array.from({ length: N * L }, (_v, i) => (i % L < 4 ? 2 + ((i * 7) % 10) : 0)),
  images: Float32Array.from({ length: N * P }, rand),
  labels: Float32Array.from({ length: N }, (_v, i) => (i % 2 === 0 ? 1 : -1)),
};

let host: ModelHost;
/** ε_ref through ONNX Runtime: the structural `ReferencePredictor` of @likewise/kto over a serving ModelHost. */
let ortReference: ReferencePredictor;

beforeAll(async () => {
  await initBackend("wasm");
  const { bytes } = await exportVerifiedOnnx(cfg, parent, { producerVersion: "reference-test" });
  host = await ModelHost.create(bytes, { imageSize: S, contextLength: L }, { intraOpNumThreads: 1 });
  ortReference = (b) =>
    host.forward({ batch: b.size, tokens: BigInt64Array.from(b.tokens, (v) => BigInt(v)), x: b.xt, t: b.t });
  return async () => host.release();
});

async function steps(o: TrainOptions, n: number): Promise<StepMetrics[]> {
  const trainer = await Trainer.create(o);
  const out: StepMetrics[] = [];
  try {
    await trainer.run({ untilStep: n, onProgress: (p) => out.push(p) });
  } finally {
    await trainer.close();
  }
  return out;
}

const base: TrainOptions = {
  config: cfg,
  data,
  seed: 4,
  batchSize: 16,
  learningRate: 1e-3,
  promptDropout: 0.1,
  workers: 0,
  initialWeights: parent,
  freezeTextEncoder: true,
};

describe("reference model in ONNX Runtime vs tfjs", () => {
  for (const [label, objectiveOptions] of [
    ["KTO (paper defaults)", ktoOptionsToCodes({ beta: 5000 })],
    ["KTO mismatched reference point", ktoOptionsToCodes({ beta: 5000, referencePoint: "mismatched" })],
  ] as const) {
    test(`${label}: losses and metrics agree step by step`, async () => {
      const viaTfjs = await steps({ ...base, objective: "kto", objectiveOptions, reference: parent }, 4);
      const viaOrt = await steps(
        { ...base, objective: "kto", objectiveOptions, referencePredictor: ortReference },
        4,
      );
      // ORT vs tfjs ε differ by ~1e-6 (the export's parity gate); the errors and losses inherit that
      // (measured: |Δloss| ≤ 5e-5 over 4 steps with β = 5000).
      viaOrt.forEach((m, i) => {
        const t = viaTfjs[i];
        if (!t?.objective || !m.objective) throw new Error("missing metrics");
        expect(Math.abs(m.loss - t.loss)).toBeLessThan(2e-4);
        expect(Math.abs((m.objective.errRef ?? 0) - (t.objective.errRef ?? 0))).toBeLessThan(1e-5);
        expect(Math.abs((m.objective.referencePoint ?? 0) - (t.objective.referencePoint ?? 0))).toBeLessThan(
          1e-5,
        );
        expect(
          Math.abs((m.objective.rewardDesirable ?? 0) - (t.objective.rewardDesirable ?? 0)),
        ).toBeLessThan(1e-5);
        expect(
          Math.abs((m.objective.rewardUndesirable ?? 0) - (t.objective.rewardUndesirable ?? 0)),
        ).toBeLessThan(1e-5);
        expect(Math.abs((m.objective.kl ?? 0) - (t.objective.kl ?? 0))).toBeLessThan(1e-6);
        // (reward accuracy is not compared: at step 1 g = 0 exactly in tfjs but ±1e-7 in ORT, so signs are noise.)
      });
      expect(viaOrt[0]?.loss).toBeCloseTo(0.5, 3); // πθ = πref at step 1 (up to ORT/tfjs rounding)
    }, 120_000);
  }

  test("a predictor returning the wrong size is refused with a clear error", async () => {
    const bad: ReferencePredictor = () => new Float32Array(3);
    await expect(
      steps(
        { ...base, objective: "kto", objectiveOptions: ktoOptionsToCodes({}), referencePredictor: bad },
        1,
      ),
    ).rejects.toThrow(/referencePredictor returned 3 values/);
  });
});
