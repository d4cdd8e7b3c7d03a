// Issue 7 acceptance: several serving processes, each with clients generating continuously, while new versions are
// published, promoted and rolled back three times — zero failed requests, every response from the version it names,
// every host converging on the new production. Corrupt artifacts (bad hash, truncated ONNX, NaN output) are refused
// with clear errors at registration and by the hosts, while production keeps serving.
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import {
  createDb,
  getModelVersion,
  listProductionAliasHistory,
  listServingHosts,
  rollbackProduction,
  setProductionAlias,
} from "@likewise/db";
import { LocalArtifactStore, loadModel, sampleImages, type SampleRequest } from "@likewise/serving";
import { writeTestArtifact } from "@likewise/serving/testing";

import {
  promoteModelVersion,
  registerModelVersion,
  RegistrationError,
} from "../../apps/trainer/src/registry.ts";
import { type Fleet, startFleet } from "../helpers/fleet.ts";

const url = inject("databaseUrl");
const handle = createDb(url, { max: 4 });
const { db } = handle;
const home = mkdtempSync(join(tmpdir(), "likewise-hot-swap-"));
chmodSync(home, 0o755);
const sources = join(home, "incoming");
const store = LocalArtifactStore.atHome(home);
const REQUEST: SampleRequest = { prompts: ["red circle"], seeds: [11], steps: 10, guidanceScale: 2 };
const reference = new Map<string, string>(); // version id → sha256 of its image for REQUEST
let fleet: Fleet | undefined;
const tag = Date.now().toString(36);
const vid = (n: string) => `hs-${tag}-${n}`;

/** Writes a contract-model version folder whose images differ from the others', publishes it, records its image. */
async function publish(name: string, bias: number): Promise<string> {
  const dir = await writeTestArtifact(sources, { id: vid(name), spec: { channelBias: [bias, -bias, 0.05] } });
  const { version } = await registerModelVersion(db, store, { sourceDir: dir });
  const model = await loadModel(dir, { intraOpNumThreads: 1 });
  const img = (await sampleImages(model, REQUEST)).images[0]?.data ?? new Uint8Array();
  reference.set(version.id, createHash("sha256").update(img).digest("hex"));
  await model.host.release();
  return version.id;
}

beforeAll(async () => {
  const v1 = await publish("v1", 0.1);
  await setProductionAlias(db, { modelVersionId: v1, kind: "initial", reason: "hot-swap test" });
  fleet = startFleet({
    hosts: 3,
    hostPrefix: `hs-${tag}`,
    databaseUrl: url,
    home,
    clients: 3,
    request: REQUEST,
    reconcileIntervalMs: 1_000,
    logResponses: true,
    threads: 1,
  });
  await fleet.waitAllRouted(v1, 0, 120_000);
});

afterAll(async () => {
  await fleet?.stop();
  await handle.close();
  rmSync(home, { recursive: true, force: true });
});

describe("hot swap under load", () => {
  test("publish → promote → roll back, three times: zero failed requests, every response from the version it names, all hosts converge", async () => {
    const f = fleet;
    if (!f) throw new Error("fleet did not start");
    const base = (await getModelVersion(db, vid("v1"))).id;
    const swapMs: number[] = [];
    for (const [i, bias] of [-0.2, 0.3, -0.35].entries()) {
      const next = await publish(`v${i + 2}`, bias);
      let mark = f.lines.length;
      let t0 = Date.now();
      await promoteModelVersion(db, { modelVersionId: next, reason: `round ${i + 1}` });
      swapMs.push(Math.max(...(await f.waitAllRouted(next, mark))) - t0);
      await new Promise((r) => setTimeout(r, 300)); // let the clients work on the new version

      mark = f.lines.length;
      t0 = Date.now();
      const move = await rollbackProduction(db, { reason: `round ${i + 1}: roll back` });
      expect(move).toMatchObject({ modelVersionId: base, previousModelVersionId: next, changed: true });
      swapMs.push(Math.max(...(await f.waitAllRouted(base, mark))) - t0);
      await new Promise((r) => setTimeout(r, 300));
    }

    const history = await listProductionAliasHistory(db, { limit: 6 });
    expect(history.map((e) => e.kind)).toEqual([
      "rollback",
      "promote",
      "rollback",
      "promote",
      "rollback",
      "promote",
    ]);
    expect(history.every((e) => e.reason?.startsWith("round "))).toBe(true);

    // Every host reports it converged on production (heartbeat rows).
    const until = Date.now() + 10_000;
    let hosts = await listServingHosts(db);
    while (
      hosts.filter((h) => f.hostIds.includes(h.id) && h.productionVersionId === base).length < 3 &&
      Date.now() < until
    ) {
      await new Promise((r) => setTimeout(r, 200));
      hosts = await listServingHosts(db);
    }
    expect(hosts.filter((h) => f.hostIds.includes(h.id)).map((h) => h.productionVersionId)).toEqual([
      base,
      base,
      base,
    ]);

    const failures = f.lines.filter((l) => l.type === "failure");
    expect(failures).toEqual([]);
    const responses = f.lines.filter((l) => l.type === "response");
    expect(responses.length).toBeGreaterThan(50);
    expect(new Set(reference.values()).size).toBe(reference.size); // versions are distinguishable by their images
    const mismatched = responses.filter((r) => reference.get(r.version) !== r.hash);
    expect(mismatched).toEqual([]);
    // Each host served every published version.
    for (const h of f.hostIds)
      expect(new Set(responses.filter((r) => r.hostId === h).map((r) => r.version)).size).toBe(4);
    expect(Math.max(...swapMs)).toBeLessThan(10_000); // "within a few seconds"; the benchmark records the distribution
  });

  test("corrupt artifacts are refused at registration with the reason recorded, and by every host; production keeps serving", async () => {
    const f = fleet;
    if (!f) throw new Error("fleet did not start");
    const production = vid("v1");
    for (const [corrupt, code, pattern] of [
      ["bad-hash", "HASH_MISMATCH", /sha256 [0-9a-f]{64} differs from manifest/],
      ["truncated", "RUNTIME_ERROR", /could not load the model/],
      ["nan", "OUTPUT_CHECK_FAILED", /NaN or infinite/],
    ] as const) {
      const dir = await writeTestArtifact(sources, { id: vid(corrupt), corrupt });
      const err = await registerModelVersion(db, store, { sourceDir: dir }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RegistrationError);
      expect(err).toMatchObject({ code, rejectedVersionId: vid(corrupt) });
      expect(String((err as Error).message)).toMatch(pattern);
      const row = await getModelVersion(db, vid(corrupt));
      expect(row.status).toBe("rejected");
      expect(row.metrics).toMatchObject({ rejection: { code } });
      await expect(setProductionAlias(db, { modelVersionId: row.id })).rejects.toMatchObject({
        code: "INVALID_STATE",
      });
    }

    // An artifact damaged after registration (disk corruption): hosts refuse it and keep serving production.
    const damaged = await publish("damaged", 0.25);
    await writeFile(join(store.dirOf(damaged), "model.onnx"), new Uint8Array([8, 1, 18, 3]));
    const mark = f.lines.length;
    await promoteModelVersion(db, { modelVersionId: damaged, reason: "promote a damaged artifact" });
    const until = Date.now() + 30_000;
    const refusedBy = () =>
      new Set(
        f.lines
          .slice(mark)
          .filter((l) => l.type === "refused" && l.version === damaged)
          .map((l) => l.hostId),
      );
    while (refusedBy().size < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(refusedBy().size).toBe(3);
    const refusal = f.lines.slice(mark).find((l) => l.type === "refused");
    expect(refusal).toMatchObject({ code: "HASH_MISMATCH" });
    await new Promise((r) => setTimeout(r, 500));
    const after = f.lines.slice(mark);
    expect(after.filter((l) => l.type === "routed")).toEqual([]);
    expect(after.filter((l) => l.type === "failure")).toEqual([]);
    expect(
      after
        .filter((l) => l.type === "response")
        .every((l) => l.type === "response" && l.version === production),
    ).toBe(true);
    const hosts = (await listServingHosts(db)).filter((h) => f.hostIds.includes(h.id));
    expect(hosts.every((h) => h.productionVersionId === production && !h.isConverged)).toBe(true);
    expect(JSON.stringify(hosts[0]?.status)).toContain("HASH_MISMATCH");
    await rollbackProduction(db, { reason: "damaged artifact" });

    const stats = await f.stop();
    fleet = undefined;
    expect(stats).toHaveLength(3);
    expect(stats.every((s) => s.failed === 0 && s.ok > 0)).toBe(true);
  });

  test("rollbacks walk back through promotions (not a toggle) and stop at the first version", async () => {
    const [v1, v2, v3] = [vid("v1"), vid("v2"), vid("v3")];
    await promoteModelVersion(db, { modelVersionId: v2 });
    await promoteModelVersion(db, { modelVersionId: v3 });
    expect((await rollbackProduction(db)).modelVersionId).toBe(v2);
    expect((await rollbackProduction(db, { reason: "again" })).modelVersionId).toBe(v1);
    await expect(rollbackProduction(db)).rejects.toMatchObject({ code: "INVALID_STATE" });
  });
});
