import { eq } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";

import { createDb } from "../client.ts";
import { withDbErrors } from "../errors.ts";
import { user } from "../schema/auth.ts";
import { modelAliasEvent } from "../schema/model-version.ts";
import { expectDbError } from "../testing/expect-db-error.ts";
import { createTestModelVersion, fakeSha256, uniqueId } from "../testing/index.ts";
import {
  findProductionModelVersion,
  getModelVersion,
  getProductionModelVersion,
  listProductionAliasHistory,
  MODEL_ALIAS_CHANNEL,
  recordModelVersion,
  setModelVersionStatus,
  setProductionAlias,
} from "./model-version.ts";
import { createRound } from "./round.ts";
import { createTestUser } from "../testing/index.ts";

// This file is the only one that moves the (global) production alias; its tests run in order.
const { db, sql, close } = createDb(inject("databaseUrl"), { max: 4 });
afterAll(close);

describe("model versions", () => {
  it("records lineage and rejects bad rows with typed errors", async () => {
    const base = await createTestModelVersion(db, { id: uniqueId("base-tiny") });
    const child = await recordModelVersion(db, {
      family: base.family,
      parentId: base.id,
      artifactUri: "file:///tmp/x",
      sha256: fakeSha256(),
      metrics: { fid: 1.5 },
      manifest: { config: { channels: 16 } },
    });
    expect(child).toMatchObject({ parentId: base.id, status: "candidate", metrics: { fid: 1.5 } });
    expect(child.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await getModelVersion(db, child.id)).toEqual(child);

    await expectDbError(createTestModelVersion(db, { id: base.id }), "CONFLICT");
    await expectDbError(createTestModelVersion(db, { parentId: "missing-parent" }), "NOT_FOUND");
    await expectDbError(createTestModelVersion(db, { sha256: "xyz" }), "INVALID_INPUT");
    await expectDbError(createTestModelVersion(db, { id: "../escape" }), "INVALID_INPUT");
    await expectDbError(getModelVersion(db, "nope"), "NOT_FOUND");
  });

  it("moves status only along the legal edges", async () => {
    const v = await createTestModelVersion(db, { status: "candidate" });
    await expectDbError(setModelVersionStatus(db, { id: v.id, status: "retired" }), "INVALID_STATE");
    expect((await setModelVersionStatus(db, { id: v.id, status: "rejected" })).status).toBe("rejected");
    await expectDbError(setModelVersionStatus(db, { id: v.id, status: "registered" }), "INVALID_STATE");
  });
});

describe("production alias", () => {
  it("moves atomically, records who/when/why, notifies hosts, and refuses unregistered targets", async () => {
    const admin = await createTestUser(db, { role: "admin" });
    const a = await createTestModelVersion(db);
    const b = await createTestModelVersion(db, { family: a.family, parentId: a.id });
    const candidate = await createTestModelVersion(db, { family: a.family, status: "candidate" });

    const notes: string[] = [];
    const listener = await sql.listen(MODEL_ALIAS_CHANNEL, (payload) => notes.push(payload));
    try {
      const before = await findProductionModelVersion(db);
      const first = await setProductionAlias(db, {
        modelVersionId: a.id,
        actorId: admin.id,
        reason: "base model",
      });
      expect(first).toMatchObject({
        changed: true,
        modelVersionId: a.id,
        previousModelVersionId: before?.id ?? null,
      });
      expect((await getProductionModelVersion(db)).id).toBe(a.id);

      const again = await setProductionAlias(db, { modelVersionId: a.id });
      expect(again).toMatchObject({ changed: false, event: null });

      const promote = await setProductionAlias(db, {
        modelVersionId: b.id,
        actorId: admin.id,
        reason: "won experiment",
      });
      expect(promote.event).toMatchObject({
        kind: "promote",
        fromModelVersionId: a.id,
        toModelVersionId: b.id,
        actorId: admin.id,
        reason: "won experiment",
      });
      const rollback = await setProductionAlias(db, {
        modelVersionId: a.id,
        kind: "rollback",
        actorId: admin.id,
        reason: "guardrail",
      });
      expect(rollback.event).toMatchObject({
        kind: "rollback",
        fromModelVersionId: b.id,
        toModelVersionId: a.id,
      });

      await expectDbError(setProductionAlias(db, { modelVersionId: candidate.id }), "INVALID_STATE");
      await expectDbError(setProductionAlias(db, { modelVersionId: "no-such-version" }), "NOT_FOUND");
      await expectDbError(setModelVersionStatus(db, { id: a.id, status: "retired" }), "INVALID_STATE");
      expect((await getProductionModelVersion(db)).id).toBe(a.id);

      const history = await listProductionAliasHistory(db, { limit: 3 });
      expect(history.map((h) => [h.fromModelVersionId, h.toModelVersionId])).toEqual([
        [b.id, a.id],
        [a.id, b.id],
        [before?.id ?? null, a.id],
      ]);
      await expect.poll(() => notes.length, { timeout: 2000 }).toBe(3);
      expect(JSON.parse(notes[2] ?? "{}")).toMatchObject({
        alias: "production",
        modelVersionId: a.id,
        previousModelVersionId: b.id,
      });

      // A round defaults to production as its parent.
      expect((await createRound(db, { trigger: "manual" })).parentModelVersionId).toBe(a.id);
    } finally {
      await listener.unlisten();
    }
  });

  it("keeps the audit row when the acting user is erased (actor becomes null) and refuses direct edits", async () => {
    const admin = await createTestUser(db, { role: "admin" });
    const v = await createTestModelVersion(db);
    const move = await setProductionAlias(db, { modelVersionId: v.id, actorId: admin.id, reason: "audit" });
    const eventId = move.event?.id ?? -1;
    const edit = withDbErrors(() =>
      db.update(modelAliasEvent).set({ reason: "rewritten" }).where(eq(modelAliasEvent.id, eventId)),
    );
    await expectDbError(edit, "INVALID_STATE");
    await db.delete(user).where(eq(user.id, admin.id));
    const [kept] = await db.select().from(modelAliasEvent).where(eq(modelAliasEvent.id, eventId));
    expect(kept).toMatchObject({ actorId: null, reason: "audit", toModelVersionId: v.id });
  });

  it("serialises concurrent moves: the history is one unbroken chain", async () => {
    const versions = await Promise.all(Array.from({ length: 6 }, () => createTestModelVersion(db)));
    const start = await getProductionModelVersion(db);
    const moves = await Promise.all(
      versions.map((v) => setProductionAlias(db, { modelVersionId: v.id, reason: "race" })),
    );
    expect(moves.every((m) => m.changed)).toBe(true);
    const history = (await listProductionAliasHistory(db, { limit: 6 })).reverse();
    expect(history[0]?.fromModelVersionId).toBe(start.id);
    for (let i = 1; i < history.length; i++)
      expect(history[i]?.fromModelVersionId).toBe(history[i - 1]?.toModelVersionId);
    expect((await getProductionModelVersion(db)).id).toBe(history.at(-1)?.toModelVersionId);
  });
});
