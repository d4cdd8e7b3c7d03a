// The prompt-use diagnostic on the shipped base model through ONNX Runtime: deterministic under its seed, the model
// denoises better with the right caption than with another image's (it conditions on the text), and bad arguments
// are refused.
import { resolve } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { loadModel, type LoadedModel } from "@likewise/serving";

import { measurePromptUse } from "./prompt-use.ts";

let model: LoadedModel;
beforeAll(async () => {
  model = await loadModel(resolve(import.meta.dirname, "../../../models/base"), { intraOpNumThreads: 1 });
});
afterAll(async () => {
  await model.host.release();
});

describe("measurePromptUse", () => {
  it("is deterministic, and the shipped base model denoises better with the right caption", async () => {
    const a = await measurePromptUse(model, { images: 16, timesteps: [300, 500, 700] });
    const b = await measurePromptUse(model, { images: 16, timesteps: [300, 500, 700] });
    expect(b).toEqual(a);
    console.log(`prompt use of models/base: ${a.rows.map((r) => `t=${r.t} rolled/right ${r.rolledOverRight.toFixed(3)}`).join(", ")}`);
    for (const r of a.rows) {
      expect(r.mseRight).toBeGreaterThan(0);
      expect(r.rolledOverRight).toBeGreaterThan(1.02); // another image's caption hurts: the text is used
    }
  });

  it("refuses fewer than 2 images and timesteps outside the schedule", async () => {
    await expect(measurePromptUse(model, { images: 1 })).rejects.toThrow(/images must be an integer ≥ 2/);
    await expect(measurePromptUse(model, { images: 2, timesteps: [1000] })).rejects.toThrow(/outside the schedule 0…999/);
  });
});
