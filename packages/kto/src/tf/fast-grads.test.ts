// Gradient checks of every custom gradient against a reference: tfjs's stock gradients on the
// pure-JS cpu backend (correct for conv, matMul, gather, concat), or the analytic gradient where
// cpu is known to be wrong (ResizeNearestNeighborGrad for batch > 1). Tolerance: relative L2 < 1e-4.
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { fixture, onBackend, relativeL2, useBackend } from "../testing/tf";
import {
  concatChannelsFast,
  conv2dBiasFast,
  conv2dFast,
  embeddingFast,
  groupNormFast,
  matMulFast,
  siluFast,
  upsample2xFast,
} from "./fast-grads";

type Input = { shape: number[]; data: Float32Array | Int32Array; dtype?: "int32" };

/** Value and gradients (w.r.t. the float inputs) of sum(f(inputs) · R) for a fixed random R. */
function valueAndGrads(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: Input[],
  seed: number,
): { value: Float32Array; grads: Float32Array[] } {
  // Tensors out of tidy, arrays read afterwards: tidy must never walk a TypedArray (platform notes §5).
  const tensors = tf.tidy(() => {
    const xs = inputs.map((i) => tf.tensor(i.data, i.shape, i.dtype ?? "float32"));
    const floatIdx = inputs.map((i, k) => (i.dtype ? -1 : k)).filter((k) => k >= 0);
    const y = f(...xs);
    const r = tf.tensor(fixture(y.size, seed), y.shape);
    const g = tf.grads((...fx: tf.Tensor[]) => {
      const all = xs.map((x, k) => (floatIdx.includes(k) ? (fx[floatIdx.indexOf(k)] ?? x) : x));
      return tf.sum(tf.mul(f(...all), r));
    })(floatIdx.map((k) => xs[k] as tf.Tensor));
    return [y, ...g];
  });
  const [value, ...grads] = tensors.map((t) => t.dataSync() as Float32Array);
  tf.dispose(tensors);
  return { value: value ?? new Float32Array(), grads };
}

const input = (shape: number[], seed: number): Input => ({
  shape,
  data: fixture(
    shape.reduce((a, b) => a * b, 1),
    seed,
  ),
});

beforeAll(() => useBackend("wasm"));
afterAll(() => useBackend("wasm"));

describe("conv2dFast gradients (vs stock Conv2DBackpropInput/Filter on cpu)", () => {
  const cases: [string, number[], number, 1 | 2, number][] = [
    ["3×3 stride 1 pad 1", [2, 8, 8, 5], 3, 1, 1],
    ["3×3 stride 2 pad 1, even size", [2, 8, 8, 4], 3, 2, 1],
    ["3×3 stride 2 pad 1, odd size", [3, 7, 7, 3], 3, 2, 1],
    ["3×3 stride 2 pad 1, 6 → 3 (24 px path)", [2, 6, 6, 8], 3, 2, 1],
    ["1×1 stride 1", [2, 5, 5, 6], 1, 1, 0],
    ["5×5 stride 1 pad 2", [1, 9, 9, 3], 5, 1, 2],
    ["3×3 stride 1 pad 0", [2, 6, 6, 2], 3, 1, 0],
  ];
  it.each(cases)("%s", async (_name, xShape, k, stride, pad) => {
    const cout = 7;
    const inputs = [input(xShape, 1), input([k, k, xShape[3] ?? 0, cout], 2)];
    const fast = valueAndGrads(
      (x, w) => conv2dFast(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad),
      inputs,
      3,
    );
    const ref = await onBackend("cpu", () =>
      valueAndGrads(
        (x, w) =>
          tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, [
            [0, 0],
            [pad, pad],
            [pad, pad],
            [0, 0],
          ]),
        inputs,
        3,
      ),
    );
    expect(relativeL2(fast.value, ref.value)).toBeLessThan(1e-5);
    expect(relativeL2(fast.grads[0] ?? [], ref.grads[0] ?? [])).toBeLessThan(1e-4); // dX
    expect(relativeL2(fast.grads[1] ?? [], ref.grads[1] ?? [])).toBeLessThan(1e-4); // dW
  });
});

describe("conv2dBiasFast gradients (FusedConv2D forward) vs stock conv2d + add on cpu", () => {
  it.each([
    ["3×3 stride 1 pad 1", [2, 6, 6, 3], 3, 1, 1],
    ["3×3 stride 2 pad 1", [2, 8, 8, 4], 3, 2, 1],
    ["1×1 (matMul path)", [2, 4, 4, 5], 1, 1, 0],
  ] as const)("%s", async (_name, xShape, k, stride, pad) => {
    const cout = 6;
    const inputs = [input([...xShape], 31), input([k, k, xShape[3], cout], 32), input([cout], 33)];
    const fast = valueAndGrads(
      (x, w, b) => conv2dBiasFast(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, stride, pad),
      inputs,
      34,
    );
    const ref = await onBackend("cpu", () =>
      valueAndGrads(
        (x, w, b) =>
          tf.add(
            tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, [
              [0, 0],
              [pad, pad],
              [pad, pad],
              [0, 0],
            ]),
            b,
          ),
        inputs,
        34,
      ),
    );
    expect(relativeL2(fast.value, ref.value)).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++)
      expect(relativeL2(fast.grads[i] ?? [], ref.grads[i] ?? [])).toBeLessThan(1e-4);
  });
});

describe("matMulFast gradients (vs stock matMul gradient on cpu)", () => {
  it.each([
    ["2-D", [13, 7], [7, 5]],
    ["batched rank 4 (attention)", [2, 3, 6, 4], [2, 3, 4, 5]],
  ])("%s", async (_name, a, b) => {
    const inputs = [input(a, 4), input(b, 5)];
    const fast = valueAndGrads((x, y) => matMulFast(x, y), inputs, 6);
    const ref = await onBackend("cpu", () => valueAndGrads((x, y) => tf.matMul(x, y), inputs, 6));
    expect(relativeL2(fast.value, ref.value)).toBeLessThan(1e-5);
    expect(relativeL2(fast.grads[0] ?? [], ref.grads[0] ?? [])).toBeLessThan(1e-4);
    expect(relativeL2(fast.grads[1] ?? [], ref.grads[1] ?? [])).toBeLessThan(1e-4);
  });
});

describe("upsample2xFast gradient", () => {
  it("equals the analytic 2×2 block sum for batch > 1 (where cpu's ResizeNearestNeighborGrad is wrong)", () => {
    const shape = [3, 4, 5, 2];
    const { grads } = valueAndGrads((x) => upsample2xFast(x), [input(shape, 7)], 8);
    const r = fixture(3 * 8 * 10 * 2, 8); // R has the output shape [3, 8, 10, 2]
    const expected = new Float32Array(3 * 4 * 5 * 2);
    for (let n = 0; n < 3; n++)
      for (let i = 0; i < 8; i++)
        for (let j = 0; j < 10; j++)
          for (let c = 0; c < 2; c++) {
            const dst = ((n * 4 + (i >> 1)) * 5 + (j >> 1)) * 2 + c;
            expected[dst] = (expected[dst] ?? 0) + (r[((n * 8 + i) * 10 + j) * 2 + c] ?? 0);
          }
    expect(relativeL2(grads[0] ?? [], expected)).toBeLessThan(1e-6);
  });

  it("matches wasm's stock ResizeNearestNeighborGrad", () => {
    const inputs = [input([2, 4, 4, 3], 9)];
    const fast = valueAndGrads((x) => upsample2xFast(x), inputs, 10);
    const stock = valueAndGrads((x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [8, 8]), inputs, 10);
    expect(relativeL2(fast.grads[0] ?? [], stock.grads[0] ?? [])).toBeLessThan(1e-6);
  });
});

describe("concatChannelsFast and embeddingFast gradients", () => {
  it("concat: slices equal the stock concat (SplitV) gradient", async () => {
    const inputs = [input([2, 3, 3, 4], 11), input([2, 3, 3, 5], 12)];
    const fast = valueAndGrads((a, b) => concatChannelsFast(a, b), inputs, 13);
    const ref = await onBackend("cpu", () => valueAndGrads((a, b) => tf.concat([a, b], 3), inputs, 13));
    expect(relativeL2(fast.grads[0] ?? [], ref.grads[0] ?? [])).toBeLessThan(1e-6);
    expect(relativeL2(fast.grads[1] ?? [], ref.grads[1] ?? [])).toBeLessThan(1e-6);
  });

  it("embedding: oneHot·matMul equals cpu's gather gradient (repeated ids accumulate)", async () => {
    const ids: Input = {
      shape: [3, 4],
      data: Int32Array.from([0, 2, 2, 5, 1, 0, 0, 0, 5, 5, 3, 2]),
      dtype: "int32",
    };
    const table = input([6, 8], 14);
    const fast = valueAndGrads((i, t) => embeddingFast(i as tf.Tensor2D, t as tf.Tensor2D), [ids, table], 15);
    const ref = await onBackend("cpu", () => valueAndGrads((i, t) => tf.gather(t, i), [ids, table], 15));
    expect(relativeL2(fast.value, ref.value)).toBeLessThan(1e-7);
    expect(relativeL2(fast.grads[0] ?? [], ref.grads[0] ?? [])).toBeLessThan(1e-6);
  });
});

describe("no leaks", () => {
  it("every custom-gradient op leaves tf.memory().numTensors unchanged (value and gradients)", () => {
    const before = tf.memory().numTensors;
    const inputs = [
      input([2, 8, 8, 4], 1),
      input([3, 3, 4, 4], 2),
      input([4], 3),
      input([4], 4),
      input([2, 4, 4], 5),
    ];
    valueAndGrads(
      (x, w, g, b, m) => {
        const c = conv2dFast(x as tf.Tensor4D, w as tf.Tensor4D, 2, 1);
        const h = siluFast(
          groupNormFast(
            concatChannelsFast(c, c) as tf.Tensor4D,
            tf.concat1d([g as tf.Tensor1D, g as tf.Tensor1D]),
            tf.concat1d([b as tf.Tensor1D, b as tf.Tensor1D]),
            4,
            1e-5,
          ),
        );
        const e = embeddingFast(
          tf.tensor2d(
            [
              [0, 1],
              [1, 0],
            ],
            [2, 2],
            "int32",
          ),
          tf.reshape<tf.Rank.R2>(m, [8, 4]),
        );
        return tf.add(tf.sum(upsample2xFast(h)), tf.sum(matMulFast(e, tf.transpose(e, [0, 2, 1]))));
      },
      inputs,
      3,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("groupNormFast and siluFast gradients (vs autodiff through the same ops on cpu)", () => {
  it.each([
    ["4 groups of 2", [2, 3, 4, 8], 4],
    ["1 group (LayerNorm-like)", [3, 2, 2, 6], 1],
    ["per-channel groups", [2, 4, 4, 4], 4],
  ] as const)("GroupNorm, %s", async (_name, shape, groups) => {
    const c = shape[3];
    const inputs = [input([...shape], 21), input([c], 22), input([c], 23)];
    const stock = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const [n, h, w] = x.shape as [number, number, number, number];
      const xg = tf.reshape(x, [n, h * w, groups, c / groups]);
      const { mean, variance } = tf.moments(xg, [1, 3], true);
      return tf.add(
        tf.mul(tf.reshape(tf.mul(tf.sub(xg, mean), tf.rsqrt(tf.add(variance, 1e-5))), [n, h, w, c]), g),
        b,
      );
    };
    const fast = valueAndGrads(
      (x, g, b) => groupNormFast(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, groups, 1e-5),
      inputs,
      24,
    );
    const ref = await onBackend("cpu", () => valueAndGrads((x, g, b) => stock(x, g, b), inputs, 24));
    expect(relativeL2(fast.value, ref.value)).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++)
      expect(relativeL2(fast.grads[i] ?? [], ref.grads[i] ?? [])).toBeLessThan(1e-4);
  });

  it("SiLU", async () => {
    const inputs = [{ shape: [5, 7], data: fixture(35, 25).map((v) => v * 6) }];
    const fast = valueAndGrads((x) => siluFast(x), inputs, 26);
    const ref = await onBackend("cpu", () => valueAndGrads((x) => tf.mul(x, tf.sigmoid(x)), inputs, 26));
    expect(relativeL2(fast.value, ref.value)).toBeLessThan(1e-6);
    expect(relativeL2(fast.grads[0] ?? [], ref.grads[0] ?? [])).toBeLessThan(1e-5);
  });
});
