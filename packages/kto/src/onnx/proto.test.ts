import * as ort from "onnxruntime-node";
import { describe, expect, test } from "vitest";

import { attr, GraphBuilder } from "./graph-builder";

async function run(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe("protobuf ModelProto encoder", () => {
  test("ORT loads a hand-built dense graph with a dynamic batch and computes relu(x·W + b)", async () => {
    const g = new GraphBuilder("dense");
    const x = g.input("x", "float", ["N", 3]);
    const W = [1, -1, 2, 0.5, -3, 4];
    const w = g.initializer("w", "float", [3, 2], Float32Array.from(W));
    const b = g.initializer("b", "float", [2], Float32Array.from([0.25, -0.5]));
    const y = g.op("Relu", [g.op("Add", [g.op("MatMul", [x, w]), b])]);
    g.output(y, "y", "float", ["N", 2]);
    const xs = Float32Array.from([1, 2, 3, -1, 0.5, 2]);
    const out = await run(g.encode(), { x: new ort.Tensor("float32", xs, [2, 3]) });
    const expected: number[] = [];
    for (let n = 0; n < 2; n++) {
      for (let j = 0; j < 2; j++) {
        let s = j === 0 ? 0.25 : -0.5;
        for (let i = 0; i < 3; i++) s += (xs[n * 3 + i] ?? 0) * (W[i * 2 + j] ?? 0);
        expected.push(Math.max(0, s));
      }
    }
    expect(out.y?.dims).toEqual([2, 2]);
    expect(Array.from(out.y?.data as Float32Array)).toEqual(expected.map((v) => Math.fround(v)));
  });

  test("attributes: ints (perm), negative int (axis), float (alpha), int64 shape constants and int64 inputs", async () => {
    const g = new GraphBuilder("attrs");
    const x = g.input("x", "float", [2, 3]);
    const ids = g.input("ids", "int64", [2]);
    const table = g.initializer("table", "float", [4], Float32Array.from([10, 20, 30, 40]));
    const tr = g.op("Transpose", [x], { perm: attr.ints([1, 0]) }); // [3,2]
    const sm = g.op("Softmax", [tr], { axis: attr.int(-1) });
    const flat = g.op("Reshape", [sm, g.constInt64([6])]);
    const scaled = g.op(
      "Gemm",
      [g.op("Reshape", [flat, g.constInt64([1, 6])]), g.constFloat([1, 1, 1, 1, 1, 1], [6, 1])],
      {
        alpha: attr.float(0.5),
      },
    );
    const picked = g.op("Gather", [table, ids], { axis: attr.int(0) });
    g.output(scaled, "s", "float", [1, 1]);
    g.output(picked, "p", "float", [2]);
    const out = await run(g.encode(), {
      x: new ort.Tensor("float32", Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]),
      ids: new ort.Tensor("int64", BigInt64Array.from([3n, 1n]), [2]),
    });
    // Each softmax row sums to 1 over 3 rows → 3, times alpha 0.5.
    expect((out.s?.data as Float32Array)[0]).toBeCloseTo(1.5, 6);
    expect(Array.from(out.p?.data as Float32Array)).toEqual([40, 20]);
  });

  test("rejects an initializer whose data does not match its dims", () => {
    const g = new GraphBuilder("bad");
    g.initializer("w", "float", [2, 2], new Float32Array(3));
    expect(() => g.encode()).toThrow(/dims \[2,2\] hold 4 values, data has 3/);
  });
});
