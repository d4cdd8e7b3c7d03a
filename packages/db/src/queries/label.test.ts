import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";

import { createDb, type Db } from "../client.ts";
import { expectDbError } from "../testing/expect-db-error.ts";
import { roundLabel } from "../schema/round.ts";
import {
  createTestImage,
  createTestLabelPool,
  createTestModelVersion,
  createTestRound,
  createTestUser,
} from "../testing/index.ts";
import { setImageHidden } from "./image.ts";
import {
  claimLabelsForRound,
  countLabelPool,
  hashLabelManifest,
  listRoundLabels,
  releaseRoundLabels,
} from "./label.ts";
import { getRound, updateRoundStatus } from "./round.ts";
import { setTrainingConsent, setUserBlocked, setUserExcludedFromTraining } from "./user.ts";
import { castVote, findVote } from "./vote.ts";

const url = inject("databaseUrl");
const { db, close } = createDb(url, { max: 4 });
afterAll(close);

describe("claimLabelsForRound", () => {
  it("claims every eligible label once, freezes a manifest with hash and class counts", async () => {
    const pool = await createTestLabelPool(db, { users: 3, images: 4 });
    expect(await countLabelPool(db, { family: pool.version.family })).toEqual({
      desirable: 6,
      undesirable: 6,
      total: 12,
    });
    const round = await createTestRound(db, { parentModelVersionId: pool.version.id });
    const claim = await claimLabelsForRound(db, { roundId: round.id });

    expect(claim.labels.map((l) => l.labelId)).toEqual(pool.labelIds);
    expect(claim.manifest.labelIds).toEqual(pool.labelIds);
    expect(claim.manifest.counts).toEqual({ desirable: 6, undesirable: 6, total: 12 });
    expect(claim.manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(claim.manifest.sha256).toBe(hashLabelManifest(claim.labels));
    expect(claim.labels.every((l) => l.modelVersionId === pool.version.id)).toBe(true);

    const stored = await getRound(db, round.id);
    expect(stored).toMatchObject({
      labelCountDesirable: 6,
      labelCountUndesirable: 6,
      manifestSha256: claim.manifest.sha256,
    });
    const forTraining = await listRoundLabels(db, { roundId: round.id });
    expect(forTraining.map((l) => l.labelId)).toEqual(pool.labelIds);
    expect(forTraining[0]).toMatchObject({ promptText: pool.prompt.text, width: 32, height: 32 });
    expect(await countLabelPool(db, { family: pool.version.family })).toEqual({
      desirable: 0,
      undesirable: 0,
      total: 0,
    });

    // A second round finds nothing left; new votes after the claim go to the next round only.
    const next = await createTestRound(db, { parentModelVersionId: pool.version.id });
    expect((await claimLabelsForRound(db, { roundId: next.id })).labels).toEqual([]);
    const late = await castVote(db, {
      userId: pool.users[0]?.id ?? "",
      imageId: (await createTestImage(db, { modelVersionId: pool.version.id })).id,
      value: "like",
    });
    const nextClaim = await claimLabelsForRound(db, { roundId: next.id });
    expect(nextClaim.labels.map((l) => l.labelId)).toEqual([late.labelId]);
    expect(nextClaim.manifest.counts).toEqual({ desirable: 1, undesirable: 0, total: 1 });
  });

  it("never claims votes of non-consenting, moderated or blocked users, hidden images, or other families", async () => {
    const version = await createTestModelVersion(db);
    const other = await createTestModelVersion(db);
    const ok = await createTestUser(db);
    const noConsent = await createTestUser(db, { trainingConsent: false });
    const revoked = await createTestUser(db);
    const moderated = await createTestUser(db, { excludedFromTraining: true });
    const blocked = await createTestUser(db);
    const visible = await createTestImage(db, { modelVersionId: version.id });
    const hidden = await createTestImage(db, { modelVersionId: version.id });
    const otherFamily = await createTestImage(db, { modelVersionId: other.id });

    const good = await castVote(db, { userId: ok.id, imageId: visible.id, value: "like" });
    for (const u of [noConsent, revoked, moderated, blocked])
      await castVote(db, { userId: u.id, imageId: visible.id, value: "dislike" });
    await castVote(db, { userId: ok.id, imageId: hidden.id, value: "dislike" });
    await castVote(db, { userId: ok.id, imageId: otherFamily.id, value: "dislike" });
    await setTrainingConsent(db, { userId: revoked.id, consent: false });
    await setImageHidden(db, { imageId: hidden.id, hidden: true });
    await setUserBlocked(db, { userId: blocked.id, blocked: true });

    const round = await createTestRound(db, { parentModelVersionId: version.id });
    const claim = await claimLabelsForRound(db, { roundId: round.id });
    expect(claim.labels.map((l) => l.labelId)).toEqual([good.labelId]);
    for (const u of [noConsent, revoked, moderated, blocked]) {
      expect((await findVote(db, { userId: u.id, imageId: visible.id }))?.roundId).toBeNull();
    }
    expect((await findVote(db, { userId: ok.id, imageId: hidden.id }))?.roundId).toBeNull();
    expect((await findVote(db, { userId: ok.id, imageId: otherFamily.id }))?.roundId).toBeNull();

    // Lifting the moderation makes that vote claimable by the next round.
    await setUserExcludedFromTraining(db, { userId: moderated.id, excluded: false });
    const next = await createTestRound(db, { parentModelVersionId: version.id });
    const nextClaim = await claimLabelsForRound(db, { roundId: next.id });
    expect(nextClaim.labels.map((l) => l.userId)).toEqual([moderated.id]);
  });

  it("8 concurrent claimers on separate pools get disjoint labels and together all of them", async () => {
    const pool = await createTestLabelPool(db, { users: 12, images: 20 }); // 240 labels
    const claimers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const handle = createDb(url, { max: 1, applicationName: `claimer-${i}` });
        await handle.sql`select 1`; // connect before the start signal
        const round = await createTestRound(handle.db, { parentModelVersionId: pool.version.id });
        return { handle, round };
      }),
    );
    try {
      // Each claimer drains in small batches until the pool is empty, so they contend on every batch.
      const drain = async (c: { handle: { db: Db }; round: { id: string } }) => {
        const mine: number[] = [];
        for (;;) {
          const { labels } = await claimLabelsForRound(c.handle.db, { roundId: c.round.id, limit: 7 });
          if (labels.length === 0) return mine;
          mine.push(...labels.map((l) => l.labelId));
        }
      };
      const results = await Promise.all(claimers.map(drain));
      const all = results.flat().sort((a, b) => a - b);
      expect(all).toEqual(pool.labelIds); // together: all of them, and no duplicates
      expect(new Set(all).size).toBe(all.length);
      expect(results.filter((r) => r.length > 0).length).toBeGreaterThan(1); // they really did share the work

      // Each round's frozen manifest is exactly what its claimer got.
      for (const [i, c] of claimers.entries()) {
        const rows = await db
          .select({ id: roundLabel.eventId })
          .from(roundLabel)
          .where(eq(roundLabel.roundId, c.round.id));
        expect(rows.map((r) => r.id).sort((a, b) => a - b)).toEqual(
          [...(results[i] ?? [])].sort((a, b) => a - b),
        );
        const r = await getRound(db, c.round.id);
        expect(r.labelCountDesirable + r.labelCountUndesirable).toBe(results[i]?.length);
      }
    } finally {
      await Promise.all(claimers.map((c) => c.handle.close()));
    }
  });

  it("only a draining round claims; unknown rounds are NOT_FOUND", async () => {
    const version = await createTestModelVersion(db);
    const queued = await createTestRound(db, { parentModelVersionId: version.id, status: "queued" });
    await expectDbError(claimLabelsForRound(db, { roundId: queued.id }), "INVALID_STATE");
    await expectDbError(
      claimLabelsForRound(db, { roundId: "00000000-0000-4000-8000-00000000abcd" }),
      "NOT_FOUND",
    );
    await expectDbError(claimLabelsForRound(db, { roundId: queued.id, limit: 0 }), "INVALID_INPUT");
  });
});

describe("releasing labels", () => {
  it("a failed round returns its labels to the pool; the next round claims the same label ids", async () => {
    const pool = await createTestLabelPool(db, { users: 2, images: 3 });
    const round = await createTestRound(db, { parentModelVersionId: pool.version.id });
    const claim = await claimLabelsForRound(db, { roundId: round.id });
    expect(claim.labels).toHaveLength(6);

    // Releasing a live round is refused: its manifest may still be in use.
    await expectDbError(releaseRoundLabels(db, { roundId: round.id }), "INVALID_STATE");

    const failed = await updateRoundStatus(db, { roundId: round.id, to: "failed", error: "trainer crashed" });
    expect(failed.releasedLabels).toBe(6);
    expect(failed.round).toMatchObject({ status: "failed", error: "trainer crashed" });
    expect(failed.round.labelsReleasedAt).toBeInstanceOf(Date);
    expect((await countLabelPool(db, { family: pool.version.family })).total).toBe(6);
    expect(await releaseRoundLabels(db, { roundId: round.id })).toEqual({ roundId: round.id, released: 0 });
    // The failed round's manifest stays as history.
    expect((await listRoundLabels(db, { roundId: round.id })).map((l) => l.labelId)).toEqual(pool.labelIds);

    const retry = await createTestRound(db, { parentModelVersionId: pool.version.id });
    const again = await claimLabelsForRound(db, { roundId: retry.id });
    expect(again.labels.map((l) => l.labelId)).toEqual(pool.labelIds);
    expect(again.manifest.sha256).toBe(claim.manifest.sha256);
  });
});

describe("claims racing vote changes", () => {
  it("never loses or double-uses a label while voters flip votes during concurrent drains", async () => {
    const pool = await createTestLabelPool(db, { users: 6, images: 10 }); // 60 votes
    const handles = Array.from({ length: 6 }, (_, i) =>
      createDb(url, { max: 1, applicationName: `race-${i}` }),
    );
    try {
      const rounds = await Promise.all(
        handles.slice(0, 4).map((h) => createTestRound(h.db, { parentModelVersionId: pool.version.id })),
      );
      const claimed = new Map<number, string>(); // label id → round
      const drains = rounds.map(async (round, i) => {
        const h = handles[i];
        if (!h) throw new Error("handle");
        for (let k = 0; k < 12; k++) {
          const { labels } = await claimLabelsForRound(h.db, { roundId: round.id, limit: 5 });
          for (const l of labels) {
            expect(claimed.has(l.labelId)).toBe(false);
            claimed.set(l.labelId, round.id);
          }
        }
      });
      const flips = handles.slice(4).map(async (h, i) => {
        for (let k = 0; k < 30; k++) {
          const u = pool.users[(k + i) % pool.users.length];
          const img = pool.images[(k * 3 + i) % pool.images.length];
          if (!u || !img) throw new Error("seed");
          await castVote(h.db, {
            userId: u.id,
            imageId: img.id,
            value: k % 3 === 0 ? null : k % 2 === 0 ? "like" : "dislike",
          });
        }
      });
      await Promise.all([...drains, ...flips]);

      // Invariant: every current vote is either in the pool or held by exactly the round whose manifest has
      // its current label id; no label id sits in two manifests.
      const rows = await db.execute<{ event_id: string; round_id: string | null; in_manifest: boolean }>(sql`
        select v.event_id::text, v.round_id,
               exists (select 1 from round_label rl where rl.round_id = v.round_id and rl.event_id = v.event_id
                       and rl.value = v.value) as in_manifest
        from vote v join image i on i.id = v.image_id join model_version mv on mv.id = i.model_version_id
        where mv.family = ${pool.version.family}`);
      for (const r of rows) if (r.round_id !== null) expect(r.in_manifest).toBe(true);
      const twice = await db.execute<{ n: number }>(sql`
        select count(*)::int as n from (select event_id from round_label rl join image i on i.id = rl.image_id
          join model_version mv on mv.id = i.model_version_id where mv.family = ${pool.version.family}
          group by event_id having count(*) > 1) d`);
      expect(twice[0]?.n).toBe(0);
      // Nothing was lost: a final drain takes every pooled vote except repeats (A → B → A) of the value the
      // pair's latest manifest entry already holds.
      const pending = rows.filter((r) => r.round_id === null).length;
      const last = await claimLabelsForRound(db, { roundId: rounds[0]?.id ?? "" });
      expect(last.labels.length).toBeLessThanOrEqual(pending);
      const left = await db.execute<{ n: number; repeats: number }>(sql`
        select count(*)::int as n,
               count(*) filter (where v.value = (
                 select rl.value from round_label rl where rl.user_id = v.user_id and rl.image_id = v.image_id
                 order by rl.event_id desc limit 1))::int as repeats
        from vote v join image i on i.id = v.image_id join model_version mv on mv.id = i.model_version_id
        where mv.family = ${pool.version.family} and v.round_id is null`);
      expect(left[0]?.n).toBe(pending - last.labels.length);
      expect(left[0]?.repeats).toBe(left[0]?.n);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  });
});
