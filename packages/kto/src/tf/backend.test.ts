import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";

import { initBackend } from "./backend";

describe("initBackend", () => {
  it("auto falls back past the uninstallable native packages to wasm and says why", async () => {
    const info = await initBackend("auto");
    expect(info.backend).toBe("wasm");
    expect(info.package).toBe("@tensorflow/tfjs-backend-wasm");
    expect(tf.getBackend()).toBe("wasm");
    // On these machines both native addons are missing; each skip is recorded for run metadata.
    expect(info.notes.some((n) => n.startsWith("@tensorflow/tfjs-node-gpu:"))).toBe(true);
    expect(info.notes.some((n) => n.startsWith("@tensorflow/tfjs-node:"))).toBe(true);
    expect(info.notes.some((n) => n.includes("single-threaded"))).toBe(true);
    // A failed native import leaves no half-registered "tensorflow" kernels behind.
    expect(tf.getKernelsForBackend("tensorflow")).toHaveLength(0);
  });

  it("a named preference selects that backend only (cpu carries its caveat)", async () => {
    const cpu = await initBackend("cpu");
    expect(cpu.backend).toBe("cpu");
    expect(cpu.notes.join(" ")).toMatch(/ResizeNearestNeighborGrad is wrong for batch > 1/);
    const wasm = await initBackend("wasm");
    expect(wasm.backend).toBe("wasm");
  });

  it("a named native preference that cannot load → BACKEND_UNAVAILABLE listing the failure", async () => {
    await expect(initBackend("tensorflow")).rejects.toMatchObject({
      code: "BACKEND_UNAVAILABLE",
      message: expect.stringMatching(/@tensorflow\/tfjs-node:/) as unknown,
    });
    await initBackend("wasm");
  });
});
