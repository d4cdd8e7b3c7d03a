import { describe, expect, it } from "vitest";

import { createModelConfig } from "../model/config";
import { initWeights } from "../model/params";
import { describeModel } from "../model/spec-ops";
import { decodeWeights, encodeWeights } from "./weights-io";

describe("weights.bin + index", () => {
  it("round-trips every parameter bit-exactly, in declaration order", () => {
    const decls = describeModel(createModelConfig({ imageSize: 16 })).decls;
    const w = initWeights(decls, 3);
    const { index, bin } = encodeWeights(w);
    expect(index.tensors.map((t) => t.name)).toEqual(decls.map((d) => d.name));
    expect(bin.byteLength).toBe(index.byteLength);
    const back = decodeWeights(JSON.parse(JSON.stringify(index)), bin);
    for (const [name, t] of w)
      expect(
        Buffer.from(back.get(name)?.data.buffer ?? new ArrayBuffer(0)).equals(Buffer.from(t.data.buffer)),
      ).toBe(true);
  });

  it("rejects a truncated bin", () => {
    const { index, bin } = encodeWeights(
      initWeights(describeModel(createModelConfig({ imageSize: 16 })).decls, 3),
    );
    expect(() => decodeWeights(index, bin.slice(4))).toThrow(/bad weights/);
  });
});
