import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { isServingError } from "./errors";
import { loadModel } from "./load-model";
import { sampleImages, type SampleRequest } from "./sampler";
import { type HostEvent, ServingHost, type ServingTarget } from "./serving-host";
import { writeTestArtifact } from "./testing/artifact";

let root: string;
const dirs = new Map<string, string>();
// Versions differ in their channel bias, so their images differ: a result can be traced to the version that made it.
const VERSIONS = { v1: 0.1, v2: -0.2, v3: 0.3 } as const;
const REQUEST: SampleRequest = {
  prompts: ["red circle", "blue square"],
  seeds: [1, 2],
  steps: 10,
  guidanceScale: 2,
};
const reference = new Map<string, Uint8Array>();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "likewise-host-"));
  for (const [id, bias] of Object.entries(VERSIONS)) {
    const dir = await writeTestArtifact(root, { id, spec: { channelBias: [bias, 0, -bias] } });
    dirs.set(id, dir);
    const model = await loadModel(dir);
    reference.set(id, (await sampleImages(model, REQUEST)).images[0]?.data ?? new Uint8Array());
    await model.host.release();
  }
  for (const corrupt of ["bad-hash", "truncated", "nan"] as const)
    dirs.set(corrupt, await writeTestArtifact(root, { id: corrupt, corrupt }));
});
afterAll(() => rm(root, { recursive: true, force: true }));

function newHost(events: HostEvent[] = [], keepPrevious = true) {
  return new ServingHost({
    resolveArtifact: (id) => {
      const dir = dirs.get(id);
      return dir ? Promise.resolve(dir) : Promise.reject(new Error(`no artifact for ${id}`));
    },
    hostOptions: { intraOpNumThreads: 1 },
    keepPrevious,
    onEvent: (e) => events.push(e),
  });
}

/** Client loops generating until stopped; every result is checked against its version's reference image. */
function clients(host: ServingHost, n: number) {
  let isRunning = true;
  const results: { versionId: string; matches: boolean }[] = [];
  const errors: unknown[] = [];
  const loops = Array.from({ length: n }, async () => {
    while (isRunning) {
      try {
        const { versionId, result } = await host.generate(REQUEST);
        const ref = reference.get(versionId);
        results.push({
          versionId,
          matches: !!ref && Buffer.from(ref).equals(Buffer.from(result.images[0]?.data ?? [])),
        });
      } catch (e) {
        errors.push(e);
      }
      await new Promise((r) => setImmediate(r));
    }
  });
  return {
    results,
    errors,
    stop: async () => {
      isRunning = false;
      await Promise.all(loops);
    },
  };
}

describe("ServingHost", () => {
  test("nothing is served before the first version is ready", async () => {
    const host = newHost();
    await expect(host.generate(REQUEST)).rejects.toSatisfy((e) => isServingError(e, "VERSION_NOT_READY"));
    await host.close();
  });

  test("publish, promote and roll back three times under continuous load: no failed request, every result from the version it names", async () => {
    const events: HostEvent[] = [];
    const host = newHost(events);
    await host.apply({ production: "v1" });
    const load = clients(host, 4);
    const seen: string[] = [];
    for (let round = 0; round < 3; round++) {
      let status = await host.apply({ production: "v2" });
      expect(status).toMatchObject({ production: "v2", previous: "v1", isConverged: true });
      seen.push(host.production ?? "");
      await new Promise((r) => setTimeout(r, 30));
      // Rollback: v1 is still warm, so this is a pointer move (no load event).
      const loadsBefore = events.filter((e) => e.kind === "loading").length;
      status = await host.apply({ production: "v1" });
      expect(status).toMatchObject({ production: "v1", previous: "v2" });
      expect(events.filter((e) => e.kind === "loading").length).toBe(loadsBefore);
      seen.push(host.production ?? "");
      await new Promise((r) => setTimeout(r, 30));
    }
    await host.apply({ production: "v3" }); // v2 (neither production nor previous) drains and unloads
    await new Promise((r) => setTimeout(r, 30));
    await load.stop();
    expect(seen).toEqual(["v2", "v1", "v2", "v1", "v2", "v1"]);
    expect(load.errors).toEqual([]);
    expect(load.results.length).toBeGreaterThan(10);
    expect(load.results.every((r) => r.matches)).toBe(true);
    expect(new Set(load.results.map((r) => r.versionId))).toEqual(new Set(["v1", "v2", "v3"]));
    const status = host.status();
    expect(status.versions.find((v) => v.id === "v2")?.state ?? "gone").toMatch(/released|draining|gone/);
    expect(events.some((e) => e.kind === "unloaded" && e.versionId === "v2")).toBe(true);
    const v1 = status.versions.find((v) => v.id === "v1");
    expect(v1).toMatchObject({ state: "ready", role: "previous", failures: 0 });
    expect(v1?.requests).toBeGreaterThan(0);
    expect(v1?.latencyMs.p50).toBeGreaterThan(0);
    await host.close();
  });

  test("a corrupt version (bad hash, truncated ONNX, NaN output) is refused with its reason; production keeps serving", async () => {
    const host = newHost();
    await host.apply({ production: "v1" });
    for (const [bad, code] of [
      ["bad-hash", "HASH_MISMATCH"],
      ["truncated", "RUNTIME_ERROR"],
      ["nan", "OUTPUT_CHECK_FAILED"],
    ] as const) {
      const load = clients(host, 2);
      const status = await host.apply({ production: bad });
      await load.stop();
      expect(load.errors).toEqual([]);
      expect(status).toMatchObject({ production: "v1", desiredProduction: bad, isConverged: false });
      expect(status.versions.find((v) => v.id === bad)).toMatchObject({ state: "failed", error: { code } });
      expect((await host.generate(REQUEST)).versionId).toBe("v1");
    }
    await host.close();
  });

  test("unloading waits for the requests that hold the version (drain)", async () => {
    const events: HostEvent[] = [];
    const host = newHost(events, false);
    // v2 is loaded beforehand (as an experiment arm), so the swap at step 2 only re-routes: it completes within the
    // request whatever the machine's load (loading v2 there raced the remaining 18 steps of this tiny model).
    await host.apply({ production: "v1", active: ["v2"] });
    const swaps: Promise<unknown>[] = [];
    const statesDuring: string[] = [];
    const { versionId } = await host.generate(
      { ...REQUEST, steps: 20 },
      {
        onStep: (done) => {
          if (done === 2) swaps.push(host.apply({ production: "v2" }));
          if (done > 2) statesDuring.push(host.status().versions.find((v) => v.id === "v1")?.state ?? "gone");
        },
      },
    );
    await Promise.all(swaps);
    expect(versionId).toBe("v1");
    expect(statesDuring.length).toBe(18);
    expect(statesDuring.at(-1)).toBe("draining"); // v2 was routed long before, v1 still held by this request
    expect(host.production).toBe("v2");
    await waitFor(() => events.some((e) => e.kind === "unloaded" && e.versionId === "v1"));
    expect(host.status().versions.find((v) => v.id === "v1")?.state ?? "released").toBe("released");
    expect((await host.generate(REQUEST)).versionId).toBe("v2");
    await host.close();
  });

  test("experiment versions load next to production and are served on request; an unknown version is not ready", async () => {
    const host = newHost();
    const status = await host.apply({ production: "v1", active: ["v3"] });
    expect(status.isConverged).toBe(true);
    expect((await host.generate(REQUEST, { versionId: "v3" })).versionId).toBe("v3");
    await expect(host.generate(REQUEST, { versionId: "v2" })).rejects.toSatisfy((e) =>
      isServingError(e, "VERSION_NOT_READY"),
    );
    await host.close();
  });

  test("attach: a missed notification is caught by the periodic reconcile; reports follow every pass", async () => {
    let target: ServingTarget = { production: "v1" };
    let notify: () => void = () => {};
    const reports: (string | null)[] = [];
    const host = newHost();
    const detach = await host.attach(
      {
        fetchTarget: () => Promise.resolve(target),
        subscribe: (onChange) => {
          notify = onChange;
          return Promise.resolve(() => Promise.resolve());
        },
      },
      { reconcileIntervalMs: 100, report: (s) => Promise.resolve(void reports.push(s.production)) },
    );
    expect(host.production).toBe("v1");
    target = { production: "v2" };
    notify();
    await waitFor(() => host.production === "v2");
    target = { production: "v3" }; // no notification: only the reconcile can find this
    await waitFor(() => host.production === "v3", 3_000);
    expect(reports).toContain("v3");
    await detach();
    await host.close();
  });
});

test("attach: an alias hint in the notification swaps before the registry is re-read", async () => {
  let target: ServingTarget = { production: "v1" };
  let fetchDelayMs = 0;
  let notify: (hint?: { production?: string | null }) => void = () => {};
  const host = newHost();
  const detach = await host.attach(
    {
      fetchTarget: async () => {
        const t = target;
        await new Promise((r) => setTimeout(r, fetchDelayMs));
        return t;
      },
      subscribe: (onChange) => {
        notify = onChange;
        return Promise.resolve(() => Promise.resolve());
      },
    },
    { reconcileIntervalMs: 60_000 },
  );
  expect(host.production).toBe("v1");
  await host.apply({ production: "v2" }); // v2 warm, v1 previous
  await host.apply({ production: "v1" });
  fetchDelayMs = 1_000; // a slow registry read
  target = { production: "v2" };
  const t0 = Date.now();
  notify({ production: "v2" });
  await waitFor(() => host.production === "v2");
  expect(Date.now() - t0).toBeLessThan(fetchDelayMs);
  await detach();
  await host.close();
});

async function waitFor(cond: () => boolean, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
