import { describe, expect, test } from "vitest";

import { KtoError } from "../errors";
import { averageWeights, type WeightMap } from "./params";

const map = (entries: Array<[string, number[], number[]]>): WeightMap =>
  new Map(entries.map(([n, shape, data]) => [n, { shape, data: Float32Array.from(data) }]));

describe("averageWeights (model soup)", () => {
  test("element-wise mean, by name whatever the order, first map's order kept", () => {
    const a = map([
      ["w", [2, 2], [1, 2, 3, 4]],
      ["b", [2], [0.5, -1]],
    ]);
    const b = map([
      ["b", [2], [1.5, 1]],
      ["w", [2, 2], [3, 2, 1, 0]],
    ]);
    const c = map([
      ["w", [2, 2], [2, 2, 2, 2]],
      ["b", [2], [1, 0]],
    ]);
    const m = averageWeights([a, b, c]);
    expect([...m.keys()]).toEqual(["w", "b"]);
    expect(Array.from(m.get("w")?.data ?? [])).toEqual([2, 2, 2, 2]); // (1+3+2)/3, (2+2+2)/3, …
    expect(Array.from(m.get("b")?.data ?? [])).toEqual([1, 0]);
    expect(m.get("w")?.shape).toEqual([2, 2]);
    // The inputs are untouched, and one map averages to itself.
    expect(Array.from(a.get("w")?.data ?? [])).toEqual([1, 2, 3, 4]);
    expect(Array.from(averageWeights([a]).get("b")?.data ?? [])).toEqual([0.5, -1]);
  });

  test("sums in float64: the mean of many copies of a float32 value is that value", () => {
    const v = Math.fround(0.1);
    const copies = Array.from({ length: 7 }, () => map([["x", [1], [v]]]));
    expect(averageWeights(copies).get("x")?.data[0]).toBe(v);
  });

  test("refuses maps of another architecture with the parameter named", () => {
    const a = map([["w", [2], [1, 2]]]);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof KtoError ? `${e.code}: ${e.message}` : String(e);
      }
      return "no error";
    };
    expect(code(() => averageWeights([]))).toMatch(/^WEIGHTS_MISMATCH: averageWeights: no weight map/);
    expect(code(() => averageWeights([a, map([["w", [1, 2], [1, 2]]])]))).toMatch(
      /map 1 has w of shape \[1, 2\], expected \[2\]/,
    );
    expect(code(() => averageWeights([a, map([["v", [2], [1, 2]]])]))).toMatch(/map 1 lacks w/);
    expect(
      code(() =>
        averageWeights([
          a,
          map([
            ["w", [2], [1, 2]],
            ["v", [1], [0]],
          ]),
        ]),
      ),
    ).toMatch(/map 1 has 2 parameters, map 0 has 1/);
  });
});
