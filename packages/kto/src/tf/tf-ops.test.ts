// Whole-model checks of the tfjs interpreter: the fast-gradient model (wasm) against the stock
// tfjs gradients (cpu backend, same weights and inputs), determinism and tensor hygiene.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";

import { createModelConfig } from "../model/config";
import { initWeights, type WeightMap } from "../model/params";
import { describeModel } from "../model/spec-ops";
import { fixture, onBackend, relativeL2, useBackend } from "../testing/tf";
import { TfOps, tfForward, tfParams } from "./tf-ops";
import { modelForward } from "../model/unet";

const cfg = createModelConfig({
  imageSize: 16,
  channels: [8, 16, 16],
  groups: 4,
  attentionLevels: [1],
  attentionHeads: 2,
  timeEmbedDim: 8,
  timeHiddenDim: 16,
  positionEmbedding: true, // its broadcast-add gradient (summed over the batch) is checked too
  attentionPositions: true, // and the attention blocks' query position tables
  scaleShift: true, // and the ResBlocks' AdaGN scale (mulChannels)
  textLayout: true, // and the prompt → bottleneck layout pathway (transpose, pooling dense, reshape)
  text: { vocabSize: 12, contextLength: 4, dim: 16, layers: 1, heads: 2, mlpRatio: 2 },
});
const spec = describeModel(cfg);
const weights: WeightMap = initWeights(spec.decls, 42);
const B = 2;
const tokens = Int32Array.from([3, 5, 0, 0, 0, 0, 0, 0]);
const x = fixture(B * 16 * 16 * 3, 7);
const eps = fixture(B * 16 * 16 * 3, 8);
const t = Float32Array.from([10, 731]);

/** Loss and all parameter gradients (by name) of the denoising MSE on `ops`. */
function lossAndGrads(ops: TfOps): { loss: number; grads: Map<string, Float32Array> } {
  const names = [...weights.keys()];
  const tensors = tf.tidy(() => {
    const vars = names.map((n) => {
      const w = weights.get(n);
      if (!w) throw new Error(n);
      return tf.tensor(w.data, [...w.shape]);
    });
    const inputs = {
      tokens: tf.tensor2d(tokens, [B, 4], "int32"),
      x: tf.tensor4d(x, [B, 16, 16, 3]),
      t: tf.tensor1d(t),
    };
    const target = tf.tensor4d(eps, [B, 16, 16, 3]);
    const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
      const params = tfParams(new Map(names.map((n, i) => [n, ps[i] as tf.Tensor])));
      return tf.mean(tf.square(tf.sub(modelForward(cfg, ops, params, inputs), target)));
    })(vars);
    return [value, ...grads];
  });
  // Arrays are read outside tidy: tidy must never walk a TypedArray (platform notes §5).
  const [value, ...grads] = tensors.map((g) => g.dataSync() as Float32Array);
  tf.dispose(tensors);
  return {
    loss: value?.[0] ?? NaN,
    grads: new Map(names.map((n, i) => [n, grads[i] ?? new Float32Array()])),
  };
}

beforeAll(() => useBackend("wasm"));

describe("whole-model gradient check", () => {
  it("fast gradients on wasm match stock tfjs gradients on cpu (global rel. L2 < 1e-4)", async () => {
    const fast = lossAndGrads(new TfOps());
    const ref = await onBackend("cpu", () => lossAndGrads(new TfOps({ stock: true })));
    expect(fast.loss).toBeCloseTo(ref.loss, 5);
    const all = (m: Map<string, Float32Array>) => Float32Array.from([...m.values()].flatMap((a) => [...a]));
    const global = relativeL2(all(fast.grads), all(ref.grads));
    expect(global).toBeLessThan(1e-4);
    let worst = 0;
    for (const [name, g] of ref.grads) {
      const norm = Math.hypot(...g);
      // k-projection biases have an exact gradient of 0 (softmax is shift-invariant): compare absolutely.
      if (norm < 1e-6) continue;
      worst = Math.max(worst, relativeL2(fast.grads.get(name) ?? [], g));
    }
    expect(worst).toBeLessThan(1e-4);
    console.log(
      `whole-model gradient check: loss ${fast.loss.toFixed(6)} vs ${ref.loss.toFixed(6)}, global rel L2 ${global.toExponential(2)}, worst tensor ${worst.toExponential(2)}`,
    );
  });
});

describe("tfForward", () => {
  it("is deterministic, shape-correct and leak-free", () => {
    const params = new Map([...weights].map(([n, w]) => [n, tf.tensor(w.data, [...w.shape])]));
    const before = tf.memory().numTensors;
    const run = () =>
      tf.tidy(() =>
        tfForward(
          cfg,
          tfParams(params),
          tf.tensor2d(tokens, [B, 4], "int32"),
          tf.tensor4d(x, [B, 16, 16, 3]),
          tf.tensor1d(t),
        ),
      );
    const a = run();
    const b = run();
    expect(a.shape).toEqual([B, 16, 16, 3]);
    expect([...a.dataSync()]).toEqual([...b.dataSync()]);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const p of params.values()) p.dispose();
  });

  it("rejects weights with a wrong shape", () => {
    const params = new Map([...weights].map(([n, w]) => [n, tf.tensor(w.data, [...w.shape])]));
    const bad = params.get("unet.conv_in.b");
    bad?.dispose();
    params.set("unet.conv_in.b", tf.zeros([9]));
    expect(() =>
      tf.tidy(() =>
        tfForward(
          cfg,
          tfParams(params),
          tf.tensor2d(tokens, [B, 4], "int32"),
          tf.tensor4d(x, [B, 16, 16, 3]),
          tf.tensor1d(t),
        ),
      ),
    ).toThrow(/unet.conv_in.b has shape \[9\], expected \[8\]/);
    for (const p of params.values()) p.dispose();
  });
});
