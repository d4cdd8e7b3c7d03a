import { afterAll, describe, expect, inject, it } from "vitest";

import { createDb } from "../client.ts";
import { createTestModelVersion, uniqueId } from "../testing/index.ts";
import { listActiveModelVersionIds } from "./pool.ts";
import {
  listModelVersions,
  listServingHosts,
  modelRegistryFeed,
  removeServingHost,
  reportServingHost,
} from "./registry.ts";

// Production-alias moves (rollbackProduction) are exercised in tests/integration/hot-swap.test.ts: in this project
// only model-version.test.ts may move the database-wide alias.
const handle = createDb(inject("databaseUrl"), { max: 4 });
const { db } = handle;
afterAll(handle.close);

describe("serving host heartbeats", () => {
  it("upserts a host's report, lists recent hosts, and removes a stopped one", async () => {
    const version = await createTestModelVersion(db);
    const id = uniqueId("web");
    const first = await reportServingHost(db, {
      id,
      kind: "web",
      hostname: "h1",
      pid: 42,
      productionVersionId: null,
      isConverged: false,
      status: { versions: [] },
    });
    await new Promise((r) => setTimeout(r, 20));
    const second = await reportServingHost(db, {
      id,
      kind: "web",
      hostname: "h1",
      pid: 42,
      productionVersionId: version.id,
      isConverged: true,
      status: { versions: [{ id: version.id, state: "ready" }] },
    });
    expect(second).toMatchObject({
      productionVersionId: version.id,
      isConverged: true,
      startedAt: first.startedAt,
    });
    expect(second.heartbeatAt.getTime()).toBeGreaterThan(first.heartbeatAt.getTime());
    expect((await listServingHosts(db)).map((h) => h.id)).toContain(id);
    expect((await listServingHosts(db, { seenWithinMs: 0 })).map((h) => h.id)).not.toContain(id);
    await removeServingHost(db, id);
    expect((await listServingHosts(db)).map((h) => h.id)).not.toContain(id);
  });
});

describe("modelRegistryFeed", () => {
  it("notifies on a new model version (LISTEN/NOTIFY) and reads the target", async () => {
    const feed = modelRegistryFeed(handle);
    let changes = 0;
    const unsubscribe = await feed.subscribe(() => changes++);
    const afterSubscribe = changes;
    await createTestModelVersion(db);
    const until = Date.now() + 5_000;
    while (changes === afterSubscribe && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(changes).toBeGreaterThan(afterSubscribe);
    await unsubscribe();
    const target = await feed.fetchTarget();
    expect(Array.isArray(target.active)).toBe(true);
    expect(target.active).not.toContain(target.production);
    // The one-query read agrees with the verbs it replaces.
    const active = await listActiveModelVersionIds(db);
    expect(target.active).toEqual(active.filter((id) => id !== target.production).sort());
  });
});

describe("listModelVersions", () => {
  it("lists versions newest first with lineage and the refusal reason of rejected ones", async () => {
    const parent = await createTestModelVersion(db);
    const child = await createTestModelVersion(db, { family: parent.family, parentId: parent.id });
    const rejected = await createTestModelVersion(db, {
      status: "rejected",
      metrics: { rejection: { code: "OUTPUT_CHECK_FAILED", message: "NaN", at: "now" } },
    });
    const all = await listModelVersions(db, { limit: 1000 });
    const ids = all.map((v) => v.id);
    expect(ids.indexOf(rejected.id)).toBeLessThan(ids.indexOf(child.id));
    expect(ids.indexOf(child.id)).toBeLessThan(ids.indexOf(parent.id));
    expect(all.find((v) => v.id === child.id)).toMatchObject({
      parentId: parent.id,
      labels: null,
      rejection: null,
      isProduction: false,
    });
    expect(all.find((v) => v.id === rejected.id)?.rejection).toEqual({
      code: "OUTPUT_CHECK_FAILED",
      message: "NaN",
    });
    const onlyRejected = await listModelVersions(db, { status: "rejected", limit: 1000 });
    expect(onlyRejected.every((v) => v.status === "rejected")).toBe(true);
    expect(onlyRejected.map((v) => v.id)).toContain(rejected.id);
  });
});
