// Export gate tests: ORT runs the exported graph like the tfjs forward (wasm backend) for every
// image size of the family, and the gate refuses a graph whose weights were corrupted.
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, test } from "vitest";

import { createModelConfig, DEFAULT_MODEL_CONFIG, type ModelConfig } from "../model/config";
import { initWeights, type WeightMap } from "../model/params";
import { describeModel } from "../model/spec-ops";
import { createRng } from "../rng";
import { useBackend } from "../testing/tf";
import { exportOnnx, ONNX_IO } from "./export";
import { hwcToChw, hwioToOihw } from "./onnx-ops";
import { checkOnnxParity, exportVerifiedOnnx, isOnnxParityError, type OnnxParityError } from "./parity";
import { tfjsReference } from "./tf-reference";

/** Init weights plus noise on every parameter, so zero biases / unit gammas cannot hide a layout bug. */
function perturbedWeights(cfg: ModelConfig, seed: number): WeightMap {
  const w = initWeights(describeModel(cfg).decls, seed);
  let i = 0;
  for (const t of w.values()) {
    const rng = createRng(seed, 0xbeef, i++);
    const noise = rng.fillNormal(new Float32Array(t.data.length), t.shape.length === 1 ? 0.2 : 0.02);
    for (let k = 0; k < t.data.length; k++) t.data[k] = (t.data[k] ?? 0) + (noise[k] ?? 0);
  }
  return w;
}

const small = (imageSize: 16 | 24 | 32, extra: Partial<ModelConfig> = {}) =>
  createModelConfig({
    imageSize,
    channels: [16, 32, 32],
    groups: 4,
    attentionLevels: [1],
    attentionHeads: 2,
    timeEmbedDim: 16,
    timeHiddenDim: 32,
    text: { vocabSize: 20, contextLength: 6, dim: 32, layers: 1, heads: 2, mlpRatio: 2 },
    ...extra,
  });

beforeAll(async () => {
  await useBackend("wasm");
});

describe("hwioToOihw", () => {
  test("moves element [i,j,c,o] to [o,c,i,j]", () => {
    const k = 2;
    const cin = 3;
    const cout = 4;
    const w = Float32Array.from({ length: k * k * cin * cout }, (_, n) => n);
    const o = hwioToOihw(w, k, cin, cout);
    expect(o[((3 * cin + 2) * k + 1) * k + 0]).toBe(w[((1 * k + 0) * cin + 2) * cout + 3]);
  });
});

describe("hwcToChw", () => {
  test("moves element [i,j,k] to [k,i,j]", () => {
    const [h, w, c] = [2, 3, 4];
    const t = Float32Array.from({ length: h * w * c }, (_, n) => n);
    const o = hwcToChw(t, h, w, c);
    expect(o[(3 * h + 1) * w + 2]).toBe(t[(1 * w + 2) * c + 3]);
    expect([...o].sort((a, b) => a - b)).toEqual([...t]);
  });
});

describe("textLayout", () => {
  test("carries the prompt to the image on its own: with cross-attention silenced, the prompt matters only through it", async () => {
    const cfg = small(16, { textLayout: true }); // no textPooling: cross-attention and the layout are the only text paths
    const weights = perturbedWeights(cfg, 5);
    for (const [name, w] of weights) if (/attn\d*\.o\.[wb]$|mid\.attn\.o\.[wb]$/.test(name)) w.data.fill(0);
    const without = new Map(
      [...weights].map(([k, w]) => [
        k,
        k.startsWith("unet.layout.fc2.") ? { ...w, data: new Float32Array(w.data.length) } : w,
      ]),
    );
    const batch = 2;
    const tokens = Int32Array.from([2, 5, 7, 0, 0, 0, 2, 9, 11, 3, 0, 0]);
    const x = createRng(5, 1).fillNormal(new Float32Array(batch * 16 * 16 * 3), 1);
    const t = Float32Array.from([500, 500]);
    const differ = async (w: WeightMap) => {
      const ref = tfjsReference(cfg, w);
      try {
        // The same noisy image twice with two prompts: how far apart are the two predictions?
        const eps = await ref.forward({
          batch,
          tokens,
          x: Float32Array.from(x, (_, k) => x[k % (16 * 16 * 3)] as number),
          t,
        });
        const n = 16 * 16 * 3;
        let d = 0;
        for (let k = 0; k < n; k++) d = Math.max(d, Math.abs((eps[k] as number) - (eps[n + k] as number)));
        return d;
      } finally {
        ref.dispose();
      }
    };
    expect(await differ(without)).toBe(0); // layout output zeroed: the prompt has no way in
    expect(await differ(weights)).toBeGreaterThan(1e-3); // through the layout pathway alone it changes ε̂
  });
});

describe("exportOnnx + parity with the tfjs forward", () => {
  test.each([
    ["16 px", small(16)],
    ["24 px", small(24, { channels: [16, 32], attentionLevels: [0] })],
    ["16 px with pooled text conditioning", small(16, { textPooling: true })],
    ["16 px with a learned position table", small(16, { textPooling: true, positionEmbedding: true })],
    [
      "16 px, v-parameterised (ᾱ tables baked in-graph)",
      small(16, {
        textPooling: true,
        positionEmbedding: true,
        prediction: { kind: "v", schedule: { kind: "linear", steps: 1000 } },
      }),
    ],
    [
      "16 px with attention position tables",
      small(16, { positionEmbedding: true, attentionPositions: true }),
    ],
    [
      "16 px with scale-shift (AdaGN) ResBlocks",
      small(16, { textPooling: true, positionEmbedding: true, scaleShift: true }),
    ],
    [
      "16 px with the text layout pathway",
      small(16, { textPooling: true, positionEmbedding: true, textLayout: true }),
    ],
    ["32 px (default config)", DEFAULT_MODEL_CONFIG],
    [
      "32 px, 2 blocks per level, attention at level 1",
      createModelConfig({ blocksPerLevel: 2, attentionLevels: [1] }),
    ],
  ])(
    "%s: ORT matches tfjs within tolerance (batches 1/3/4, empty prompts, t = 0 and 999)",
    async (_name, cfg) => {
      const weights = perturbedWeights(cfg, 7);
      const before = tf.memory().numTensors;
      {
        const { bytes, parity } = await exportVerifiedOnnx(cfg, weights, { producerVersion: "test" });
        expect(parity.isWithinTolerance).toBe(true);
        expect(parity.maxAbs).toBeLessThan(2e-5);
        expect(parity.maxRef).toBeGreaterThan(0.05); // outputs are not trivially ~0
        expect(parity.cases.flatMap((c) => c.timesteps)).toEqual(expect.arrayContaining([0, 999]));
        expect(bytes.length).toBeGreaterThan(describeModel(cfg).paramCount * 4);
        console.log(
          `${_name}: max abs ${parity.maxAbs.toExponential(2)}, rel L2 ${parity.relL2.toExponential(2)}, ${(bytes.length / 1e6).toFixed(2)} MB`,
        );
      }
      expect(tf.memory().numTensors).toBe(before); // the default tfjs reference disposed its weights
    },
  );

  test("the graph has the serving contract: NHWC I/O, int64 tokens, dynamic batch", async () => {
    const cfg = small(16);
    const session = await ort.InferenceSession.create(exportOnnx(cfg, perturbedWeights(cfg, 1)));
    try {
      expect([...session.inputNames].sort()).toEqual([ONNX_IO.t, ONNX_IO.tokens, ONNX_IO.x].sort());
      expect(session.outputNames).toEqual([ONNX_IO.eps]);
      const meta = Object.fromEntries(
        session.inputMetadata.map((m) => [m.name, m.isTensor ? [m.type, m.shape] : null]),
      );
      expect(meta).toEqual({
        tokens: ["int64", ["N", 6]],
        x: ["float32", ["N", 16, 16, 3]],
        t: ["float32", ["N"]],
      });
    } finally {
      await session.release();
    }
  });

  test("refuses export (OnnxParityError) when one weight of the graph is corrupted", async () => {
    const cfg = small(16);
    const weights = perturbedWeights(cfg, 3);
    const corrupted: WeightMap = new Map(
      [...weights].map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }]),
    );
    const target = corrupted.get("unet.mid.res0.conv1.w");
    if (!target) throw new Error("fixture: weight name changed");
    target.data[5] = (target.data[5] ?? 0) + 0.5;
    const ref = tfjsReference(cfg, weights);
    try {
      const report = await checkOnnxParity({ cfg, onnx: exportOnnx(cfg, corrupted), reference: ref.forward });
      expect(report.isWithinTolerance).toBe(false);
      expect(report.maxAbs).toBeGreaterThan(1e-3);
      // exportVerifiedOnnx with a reference that disagrees (the uncorrupted weights) must throw.
      const err = await exportVerifiedOnnx(cfg, corrupted, { reference: ref.forward }).catch(
        (e: unknown) => e,
      );
      expect(isOnnxParityError(err)).toBe(true);
      expect((err as OnnxParityError).code).toBe("ONNX_PARITY");
      expect(String(err)).toMatch(/ONNX export refused: ORT differs from the tfjs forward by max abs/);
    } finally {
      ref.dispose();
    }
  });

  test("export rejects a weight map that does not fit the config", () => {
    const cfg = small(16);
    const weights = perturbedWeights(cfg, 1);
    weights.delete("unet.conv_in.b");
    expect(() => exportOnnx(cfg, weights)).toThrow(/unet\.conv_in\.b/);
  });
});
