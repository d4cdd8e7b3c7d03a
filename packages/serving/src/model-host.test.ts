import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { describe, expect, test } from "vitest";

import { isServingError } from "./errors";
import { ModelHost } from "./model-host";
import { GaussianRng } from "./rng";
import { buildContractModel, contractEps, defaultContractSpec } from "./testing/contract-model";

const spec = defaultContractSpec();
const shape = { imageSize: spec.imageSize, contextLength: spec.contextLength };
const bytes = buildContractModel(spec);

function randomInput(n: number, seed: number) {
  const rng = new GaussianRng(seed);
  const pix = spec.imageSize ** 2 * 3;
  const x = new Float32Array(n * pix);
  rng.fillGaussian(x);
  const tokens = BigInt64Array.from({ length: n * spec.contextLength }, () =>
    BigInt(rng.nextUint32() % spec.vocabSize),
  );
  const t = Float32Array.from({ length: n }, () => rng.nextUint32() % 1000);
  return { batch: n, tokens, x, t };
}

describe("ModelHost", () => {
  test("loads from bytes, checks the contract, and computes ε as the graph defines (batches 1 and 5)", async () => {
    const host = await ModelHost.create(bytes, shape);
    try {
      expect(host.options.intraOpNumThreads).toBe(2);
      for (const n of [1, 5]) {
        const input = randomInput(n, n);
        const eps = await host.forward(input);
        const ref = contractEps(spec, input.tokens, input.x, input.t, n);
        let maxErr = 0;
        for (let i = 0; i < ref.length; i++)
          maxErr = Math.max(maxErr, Math.abs((eps[i] ?? 0) - (ref[i] ?? 0)));
        expect(maxErr).toBeLessThan(1e-5);
      }
    } finally {
      await host.release();
    }
  });

  test("loads from a file path with explicit threads and no warm-up", async () => {
    const dir = await mkdtemp(join(tmpdir(), "likewise-host-"));
    try {
      await writeFile(join(dir, "m.onnx"), bytes);
      const host = await ModelHost.create(join(dir, "m.onnx"), shape, {
        intraOpNumThreads: 1,
        warmUpBatch: 0,
        graphOptimizationLevel: "basic",
        allowSpinning: false,
      });
      expect((await host.forward(randomInput(2, 3))).length).toBe(2 * 8 * 8 * 3);
      await host.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("CONTRACT_MISMATCH for a renamed input or a manifest size that disagrees with the graph", async () => {
    const renamed = buildContractModel({ ...spec, tokensInputName: "ids" });
    await expect(ModelHost.create(renamed, shape)).rejects.toSatisfy(
      (e) => isServingError(e, "CONTRACT_MISMATCH") && /missing input "tokens"/.test(String(e)),
    );
    await expect(ModelHost.create(bytes, { ...shape, imageSize: 16 })).rejects.toThrow(
      /input "x" has shape \[N, 8, 8, 3\], expected \[N, 16, 16, 3\]/,
    );
    await expect(ModelHost.create(bytes, { ...shape, contextLength: 5 })).rejects.toThrow(/input "tokens"/);
  });

  test("RUNTIME_ERROR for bytes that are not a model; RangeError for bad thread counts", async () => {
    await expect(ModelHost.create(new Uint8Array([1, 2, 3, 4]), shape)).rejects.toSatisfy((e) =>
      isServingError(e, "RUNTIME_ERROR"),
    );
    await expect(ModelHost.create(bytes, shape, { intraOpNumThreads: 0 })).rejects.toThrow(RangeError);
  });

  test("forward rejects inputs that do not fit the batch", async () => {
    const host = await ModelHost.create(bytes, shape, { warmUpBatch: 0 });
    const input = randomInput(2, 1);
    await expect(host.forward({ ...input, batch: 3 })).rejects.toSatisfy((e) =>
      isServingError(e, "INVALID_REQUEST"),
    );
    await host.release();
  });

  test("release drains in-flight runs, then refuses new ones (HOST_RELEASED); it is idempotent", async () => {
    const host = await ModelHost.create(bytes, shape, { warmUpBatch: 0 });
    const running = host.forward(randomInput(32, 9));
    expect(host.activeRuns).toBe(1);
    const released = host.release();
    expect(host.isReleased).toBe(true);
    await expect(host.forward(randomInput(1, 1))).rejects.toSatisfy((e) =>
      isServingError(e, "HOST_RELEASED"),
    );
    expect((await running).length).toBe(32 * 8 * 8 * 3);
    await released;
    await host.release();
    expect(host.activeRuns).toBe(0);
  });
});
