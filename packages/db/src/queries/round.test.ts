import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";

import { createDb } from "../client.ts";
import { ROUND_STATUSES, ROUND_TRANSITIONS } from "../enums.ts";
import { alignmentRound } from "../schema/round.ts";
import { expectDbError } from "../testing/expect-db-error.ts";
import { createTestLabelPool, createTestModelVersion, createTestRound } from "../testing/index.ts";
import {
  claimLabelsForRound,
  countLabelPool,
  hashLabelManifest,
  listRoundLabels,
  releaseRoundLabels,
} from "./label.ts";
import {
  acquireRoundLease,
  createRound,
  getRound,
  heartbeatRound,
  listRounds,
  listStaleRounds,
  updateRoundStatus,
} from "./round.ts";
import { castVote } from "./vote.ts";

const { db, close } = createDb(inject("databaseUrl"), { max: 4 });
afterAll(close);

describe("round state machine", () => {
  it("walks queued → draining → training → exporting → evaluating → published with timestamps", async () => {
    const parent = await createTestModelVersion(db);
    const round = await createRound(db, {
      trigger: "manual",
      parentModelVersionId: parent.id,
      objectiveConfig: { objective: "kto", beta: 5000 },
    });
    expect(round).toMatchObject({
      status: "queued",
      startedAt: null,
      finishedAt: null,
      objectiveConfig: { objective: "kto", beta: 5000 },
    });
    let r = round;
    for (const to of ["draining", "training", "exporting", "evaluating"] as const) {
      const res = await updateRoundStatus(db, { roundId: r.id, to, progress: { step: to } });
      expect(res.previousStatus).toBe(r.status);
      r = res.round;
      expect(r).toMatchObject({ status: to, progress: { step: to }, finishedAt: null });
      expect(r.startedAt).toBeInstanceOf(Date);
    }
    const candidate = await createTestModelVersion(db, {
      family: parent.family,
      parentId: parent.id,
      status: "candidate",
      roundId: r.id,
    });
    // published needs its candidate (a CHECK), and then ends the round.
    await expectDbError(updateRoundStatus(db, { roundId: r.id, to: "published" }), "INVALID_INPUT");
    // …and that candidate must be one this round produced.
    const stranger = await createTestModelVersion(db, {
      family: parent.family,
      parentId: parent.id,
      status: "candidate",
    });
    await expectDbError(
      updateRoundStatus(db, { roundId: r.id, to: "published", candidateModelVersionId: stranger.id }),
      "INVALID_INPUT",
    );
    await expectDbError(
      updateRoundStatus(db, { roundId: r.id, to: "published", candidateModelVersionId: "no-such-version" }),
      "NOT_FOUND",
    );
    const done = await updateRoundStatus(db, {
      roundId: r.id,
      to: "published",
      candidateModelVersionId: candidate.id,
      metrics: { likeRate: 0.7 },
    });
    expect(done.round).toMatchObject({
      status: "published",
      candidateModelVersionId: candidate.id,
      metrics: { likeRate: 0.7 },
    });
    expect(done.round.finishedAt).toBeInstanceOf(Date);
    // Terminal: nothing moves it again.
    for (const to of ROUND_STATUSES)
      await expectDbError(updateRoundStatus(db, { roundId: r.id, to }), "INVALID_STATE");
  });

  it("refuses every transition outside ROUND_TRANSITIONS with INVALID_STATE and leaves the row unchanged", async () => {
    const parent = await createTestModelVersion(db);
    const round = await createTestRound(db, { parentModelVersionId: parent.id, status: "queued" });
    const illegal = ROUND_STATUSES.filter((s) => !ROUND_TRANSITIONS.queued.includes(s));
    expect(illegal).toEqual(["queued", "training", "exporting", "evaluating", "published", "rejected"]);
    for (const to of illegal) {
      const e = await expectDbError(updateRoundStatus(db, { roundId: round.id, to }), "INVALID_STATE");
      expect(e.message).toContain(`queued → ${to}`);
    }
    expect((await getRound(db, round.id)).status).toBe("queued");
    await expectDbError(
      updateRoundStatus(db, { roundId: "00000000-0000-4000-8000-0000000000ff", to: "draining" }),
      "NOT_FOUND",
    );
    // A round canceled before it started has no start time.
    const canceled = await updateRoundStatus(db, { roundId: round.id, to: "canceled" });
    expect(canceled.round).toMatchObject({ status: "canceled", startedAt: null });
    // failed must say why (CHECK).
    const other = await createTestRound(db, { parentModelVersionId: parent.id });
    await expectDbError(updateRoundStatus(db, { roundId: other.id, to: "failed" }), "INVALID_INPUT");
    await updateRoundStatus(db, { roundId: other.id, to: "canceled" });
  });

  it("lets one round at a time hold the training pipeline (CONFLICT for a second)", async () => {
    const parent = await createTestModelVersion(db);
    const a = await createTestRound(db, { parentModelVersionId: parent.id });
    const b = await createTestRound(db, { parentModelVersionId: parent.id });
    await updateRoundStatus(db, { roundId: a.id, to: "training" });
    const e = await expectDbError(updateRoundStatus(db, { roundId: b.id, to: "training" }), "CONFLICT");
    expect(e.constraint).toBe("alignment_round_one_running");
    expect((await getRound(db, b.id)).status).toBe("draining");
    await updateRoundStatus(db, { roundId: a.id, to: "canceled" });
    expect((await updateRoundStatus(db, { roundId: b.id, to: "training" })).round.status).toBe("training");
    await updateRoundStatus(db, { roundId: b.id, to: "failed", error: "test cleanup" });
  });

  it("records heartbeats while live and refuses them after the end", async () => {
    const parent = await createTestModelVersion(db);
    const round = await createTestRound(db, { parentModelVersionId: parent.id });
    const beat = await heartbeatRound(db, {
      roundId: round.id,
      workerId: "worker-1",
      progress: { step: 3, of: 10 },
    });
    expect(beat).toMatchObject({ workerId: "worker-1", progress: { step: 3, of: 10 } });
    expect(beat.heartbeatAt).toBeInstanceOf(Date);
    await updateRoundStatus(db, { roundId: round.id, to: "canceled" });
    await expectDbError(heartbeatRound(db, { roundId: round.id, workerId: "worker-1" }), "INVALID_STATE");
  });

  it("lists rounds by status and finds live rounds whose worker went silent", async () => {
    const parent = await createTestModelVersion(db);
    const round = await createTestRound(db, { parentModelVersionId: parent.id });
    const queued = await createTestRound(db, { parentModelVersionId: parent.id, status: "queued" });
    const draining = await listRounds(db, { statuses: ["draining"], limit: 500 });
    expect(draining.map((r) => r.id)).toContain(round.id);
    expect(draining.map((r) => r.id)).not.toContain(queued.id);

    await heartbeatRound(db, { roundId: round.id, workerId: "w1" });
    expect((await listStaleRounds(db, { olderThanMs: 60_000 })).map((r) => r.id)).not.toContain(round.id);
    await db
      .update(alignmentRound)
      .set({ heartbeatAt: sql`now() - interval '2 minutes'` })
      .where(eq(alignmentRound.id, round.id));
    const stale = await listStaleRounds(db, { olderThanMs: 60_000 });
    expect(stale.map((r) => r.id)).toContain(round.id);
    expect(stale.map((r) => r.id)).not.toContain(queued.id); // not started: nothing to recover
    await heartbeatRound(db, { roundId: round.id, workerId: "w2" });
    expect((await listStaleRounds(db, { olderThanMs: 60_000 })).map((r) => r.id)).not.toContain(round.id);
    await updateRoundStatus(db, { roundId: round.id, to: "canceled" });
    await updateRoundStatus(db, { roundId: queued.id, to: "canceled" });
  });

  it("rejects an unknown parent (NOT_FOUND) and an invalid trigger (INVALID_INPUT)", async () => {
    await expectDbError(
      createRound(db, { trigger: "manual", parentModelVersionId: "no-such-version" }),
      "NOT_FOUND",
    );
    const parent = await createTestModelVersion(db);
    const bad = JSON.parse('"whenever"') as "manual";
    await expectDbError(createRound(db, { trigger: bad, parentModelVersionId: parent.id }), "INVALID_INPUT");
  });
});

// Rounds that enter training live in this file only: one-running-round is a database-wide rule, and test files run in parallel.
describe("labels across the round lifecycle", () => {
  it("a published round keeps its labels consumed; a changed vote re-enters the pool as a new label", async () => {
    const pool = await createTestLabelPool(db, { users: 1, images: 2 });
    const round = await createTestRound(db, { parentModelVersionId: pool.version.id });
    const claim = await claimLabelsForRound(db, { roundId: round.id });
    const candidate = await createTestModelVersion(db, {
      family: pool.version.family,
      parentId: pool.version.id,
      status: "candidate",
      roundId: round.id,
    });
    for (const to of ["training", "exporting", "evaluating"] as const)
      await updateRoundStatus(db, { roundId: round.id, to });
    const published = await updateRoundStatus(db, {
      roundId: round.id,
      to: "published",
      candidateModelVersionId: candidate.id,
    });
    expect(published.releasedLabels).toBe(0);
    await expectDbError(releaseRoundLabels(db, { roundId: round.id }), "INVALID_STATE");

    const user = pool.users[0];
    const img = pool.images[0];
    if (!user || !img) throw new Error("seed");
    const before = claim.labels.find((l) => l.imageId === img.id);
    // Same value again: still consumed, nothing new in the pool.
    await castVote(db, { userId: user.id, imageId: img.id, value: before?.value ?? "like" });
    expect((await countLabelPool(db, { family: pool.version.family })).total).toBe(0);

    const flipped = await castVote(db, {
      userId: user.id,
      imageId: img.id,
      value: before?.value === "like" ? "dislike" : "like",
    });
    expect(flipped.requeued).toBe(true);
    expect((await countLabelPool(db, { family: pool.version.family })).total).toBe(1);
    // The published manifest still lists what it trained on.
    const frozen = await listRoundLabels(db, { roundId: round.id });
    expect(frozen.find((l) => l.imageId === img.id)).toMatchObject({
      labelId: before?.labelId,
      value: before?.value,
    });
    expect((await getRound(db, round.id)).manifestSha256).toBe(hashLabelManifest(frozen));

    const next = await createTestRound(db, { parentModelVersionId: candidate.id });
    const nextClaim = await claimLabelsForRound(db, { roundId: next.id });
    expect(nextClaim.labels.map((l) => [l.labelId, l.value])).toEqual([[flipped.labelId, flipped.value]]);

    // A → B → A: flipping back to the value a published manifest already holds is logged but never trained twice.
    const img2 = pool.images[1];
    const consumed = claim.labels.find((l) => l.imageId === img2?.id);
    if (!img2 || !consumed) throw new Error("seed");
    const other = consumed.value === "like" ? "dislike" : "like";
    await castVote(db, { userId: user.id, imageId: img2.id, value: other });
    expect((await countLabelPool(db, { family: pool.version.family })).total).toBe(1);
    const back = await castVote(db, { userId: user.id, imageId: img2.id, value: consumed.value });
    expect(back).toMatchObject({ changed: true, value: consumed.value });
    expect((await countLabelPool(db, { family: pool.version.family })).total).toBe(0);
    const third = await createTestRound(db, { parentModelVersionId: candidate.id });
    expect((await claimLabelsForRound(db, { roundId: third.id })).labels).toEqual([]);
    // …while a genuinely new opinion is trainable again.
    const again = await castVote(db, { userId: user.id, imageId: img2.id, value: other });
    expect((await claimLabelsForRound(db, { roundId: third.id })).labels.map((l) => l.labelId)).toEqual([
      again.labelId,
    ]);
  });
});

describe("acquireRoundLease", () => {
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("one worker per round and one live round at a time; a stale worker's round is taken over", async () => {
    const parent = await createTestModelVersion(db);
    const a = await createRound(db, { trigger: "manual", parentModelVersionId: parent.id });
    const b = await createRound(db, { trigger: "manual", parentModelVersionId: parent.id });
    await pause(20);
    // staleMs 10: every other test's heartbeat is older than that, so only this test's rounds count.
    const first = await acquireRoundLease(db, { roundId: a.id, workerId: "w1", staleMs: 10 });
    expect(first).toMatchObject({ acquired: true, round: { workerId: "w1" } });
    await updateRoundStatus(db, { roundId: a.id, to: "draining" });
    // a is live and fresh under w1: b may not start, and w2 may not take a.
    const blocked = await acquireRoundLease(db, { roundId: b.id, workerId: "w2", staleMs: 60_000 });
    expect(blocked.acquired).toBe(false);
    const taken = await acquireRoundLease(db, { roundId: a.id, workerId: "w2", staleMs: 60_000 });
    expect(taken.acquired).toBe(false);
    // w1 renews its own lease.
    await pause(20);
    expect((await acquireRoundLease(db, { roundId: a.id, workerId: "w1", staleMs: 10 })).acquired).toBe(true);
    // w1 goes silent: once its heartbeat is stale, w2 takes a over.
    await pause(30);
    const takeover = await acquireRoundLease(db, { roundId: a.id, workerId: "w2", staleMs: 10 });
    expect(takeover).toMatchObject({ acquired: true, round: { workerId: "w2", status: "draining" } });
    // An ended round is not acquired.
    await updateRoundStatus(db, { roundId: a.id, to: "canceled" });
    const ended = await acquireRoundLease(db, { roundId: a.id, workerId: "w2", staleMs: 10 });
    expect(ended).toMatchObject({ acquired: false, reason: "round is canceled" });
    await expectDbError(
      acquireRoundLease(db, { roundId: "00000000-0000-4000-8000-000000000000", workerId: "w1", staleMs: 10 }),
      "NOT_FOUND",
    );
  });

  it("two workers racing for two queued rounds: exactly one lease is granted", async () => {
    const parent = await createTestModelVersion(db);
    const rounds = await Promise.all(
      [0, 1].map(() => createRound(db, { trigger: "manual", parentModelVersionId: parent.id })),
    );
    await pause(40);
    // staleMs 30 excludes every older round; the two leases race under the advisory lock.
    const results = await Promise.all(
      rounds.map(async (r, i) => {
        const lease = await acquireRoundLease(db, { roundId: r.id, workerId: `racer-${i}`, staleMs: 30 });
        if (lease.acquired) await updateRoundStatus(db, { roundId: r.id, to: "draining" });
        return lease;
      }),
    );
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
    const loser = results.find((r) => !r.acquired);
    expect(loser && !loser.acquired ? loser.reason : "").toMatch(/is (queued|draining) on racer-/);
    for (const r of rounds) await updateRoundStatus(db, { roundId: r.id, to: "canceled" }).catch(() => {});
  });
});
