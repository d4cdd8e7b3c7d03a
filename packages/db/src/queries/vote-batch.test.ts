import { randomUUID } from "node:crypto";

import { and, count, eq } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";

import { createDb } from "../client.ts";
import { InvalidInputError, UnavailableError } from "../errors.ts";
import { apiKey } from "../schema/web.ts";
import { feedbackEvent, vote } from "../schema/feedback.ts";
import { createTestImage, createTestUser, fakeSha256 } from "../testing/index.ts";
import { createApiKey, revokeApiKey } from "./api-key.ts";
import { castVoteOnce } from "./feed.ts";
import { setUserBlocked } from "./user.ts";
import { type BatchVote, castVotes, createVoteWriter, MAX_VOTES_PER_BATCH } from "./vote-batch.ts";

const { db, sql: client, close } = createDb(inject("databaseUrl"), { max: 6 });
afterAll(close);

async function eventCount(userId: string, imageId?: string) {
  const [row] = await db
    .select({ n: count() })
    .from(feedbackEvent)
    .where(
      imageId
        ? and(eq(feedbackEvent.userId, userId), eq(feedbackEvent.imageId, imageId))
        : eq(feedbackEvent.userId, userId),
    );
  return row?.n;
}

async function currentVote(userId: string, imageId: string) {
  const [row] = await db
    .select({ value: vote.value })
    .from(vote)
    .where(and(eq(vote.userId, userId), eq(vote.imageId, imageId)));
  return row?.value ?? null;
}

async function newKey(userId: string) {
  return createApiKey(db, { name: "batch test", prefix: "lw_test", keyHash: fakeSha256(), userId });
}

describe("castVotes", () => {
  it("applies each vote by castVoteOnce's rules; a failing vote fails alone; outcomes in input order", async () => {
    const user = await createTestUser(db);
    const [a, b, c] = [await createTestImage(db), await createTestImage(db), await createTestImage(db)];
    const used = randomUUID();
    await castVoteOnce(db, { userId: user.id, imageId: a.id, value: "like", requestId: used });
    const v = (imageId: string, value: BatchVote["value"], requestId = randomUUID()): BatchVote => ({
      keyId: null,
      userId: user.id,
      imageId,
      value,
      requestId,
    });
    const out = await castVotes(db, [
      v(b.id, "like"), // new
      v(a.id, "like", used), // a retry of the earlier request: duplicate, nothing written
      v(a.id, "dislike", used), // the same request id for another vote: refused alone
      v(randomUUID(), "like"), // unknown image: refused alone
      v(c.id, "dislike"),
      v(c.id, "like"), // same (user, image) twice in one batch: applied in order
      v(b.id, null), // clear
    ]);
    expect(out.map((o) => o.kind)).toEqual(["cast", "cast", "failed", "failed", "cast", "cast", "cast"]);
    expect(out[0]).toMatchObject({ result: { value: "like", changed: true, isDuplicate: false } });
    expect(out[1]).toMatchObject({ result: { value: "like", changed: false, isDuplicate: true } });
    expect(out[2]).toMatchObject({ error: { code: "INVALID_INPUT" } });
    expect(out[3]).toMatchObject({ error: { code: "NOT_FOUND" } });
    expect(out[4]).toMatchObject({ result: { value: "dislike", previousValue: null, changed: true } });
    expect(out[5]).toMatchObject({ result: { value: "like", previousValue: "dislike", changed: true } });
    expect(out[6]).toMatchObject({ result: { value: null, previousValue: "like", changed: true } });
    expect(await currentVote(user.id, a.id)).toBe("like");
    expect(await currentVote(user.id, b.id)).toBeNull();
    expect(await currentVote(user.id, c.id)).toBe("like");
    expect(await eventCount(user.id, a.id)).toBe(1);
    expect(await eventCount(user.id, b.id)).toBe(2);
    expect(await eventCount(user.id, c.id)).toBe(2);
  });

  it("gives the same results and leaves the same rows as castVoteOnce on a random sequence", async () => {
    const [u1, u2] = [await createTestUser(db), await createTestUser(db)];
    const imgs = [await createTestImage(db), await createTestImage(db), await createTestImage(db)];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const values = ["like", "dislike", null] as const;
    const requests: string[] = [];
    const ops = Array.from({ length: 60 }, () => {
      // a third of the requests repeat an earlier request id (retries, and ids reused for another vote)
      const requestId =
        requests.length > 0 && rand(3) === 0 ? (requests[rand(requests.length)] as string) : randomUUID();
      requests.push(requestId);
      return { image: rand(imgs.length), value: values[rand(3)] ?? null, requestId };
    });
    const single = [];
    for (const op of ops) {
      const imageId = imgs[op.image]?.id as string;
      single.push(
        await castVoteOnce(db, { userId: u1.id, imageId, value: op.value, requestId: op.requestId }).then(
          (r) => ({ value: r.value, changed: r.changed, dup: r.isDuplicate }),
          (e: { code: string }) => e.code,
        ),
      );
    }
    const batched = [];
    for (let i = 0; i < ops.length; i += 16) {
      const chunk = ops.slice(i, i + 16).map((op) => ({
        keyId: null,
        userId: u2.id,
        imageId: imgs[op.image]?.id as string,
        value: op.value,
        requestId: op.requestId,
      }));
      for (const o of await castVotes(db, chunk))
        batched.push(
          o.kind === "cast"
            ? { value: o.result.value, changed: o.result.changed, dup: o.result.isDuplicate }
            : o.kind === "failed"
              ? o.error.code
              : "unauthorized",
        );
    }
    expect(batched).toEqual(single);
    expect(single.filter((s) => s === "INVALID_INPUT").length).toBeGreaterThan(0); // the sequence exercised refusals
    for (const img of imgs) expect(await currentVote(u2.id, img.id)).toBe(await currentVote(u1.id, img.id));
    expect(await eventCount(u2.id)).toBe(await eventCount(u1.id));
  });

  it("writes a keyed vote only with a live key of that user whose account is not blocked, and marks the key used", async () => {
    const [owner, other] = [await createTestUser(db), await createTestUser(db)];
    const img = await createTestImage(db);
    const live = await newKey(owner.id);
    const revoked = await newKey(owner.id);
    await revokeApiKey(db, { id: revoked.id });
    const othersKey = await newKey(other.id);
    const v = (keyId: string): BatchVote => ({
      keyId,
      userId: owner.id,
      imageId: img.id,
      value: "like",
      requestId: randomUUID(),
    });
    const out = await castVotes(db, [v(revoked.id), v(othersKey.id), v(randomUUID()), v(live.id)]);
    expect(out.map((o) => o.kind)).toEqual(["unauthorized", "unauthorized", "unauthorized", "cast"]);
    expect(await eventCount(owner.id, img.id)).toBe(1);
    const [row] = await db.select({ at: apiKey.lastUsedAt }).from(apiKey).where(eq(apiKey.id, live.id));
    expect(row?.at).toBeInstanceOf(Date);

    await setUserBlocked(db, { userId: owner.id, blocked: true });
    const blocked = await castVotes(db, [{ ...v(live.id), value: "dislike" }]);
    expect(blocked.map((o) => o.kind)).toEqual(["unauthorized"]);
    expect(await currentVote(owner.id, img.id)).toBe("like");
  });

  it("refuses malformed input before the database", async () => {
    const base = { keyId: null, userId: randomUUID(), imageId: randomUUID(), value: "like" as const };
    await expect(castVotes(db, [{ ...base, requestId: "x'; drop table vote; --" }])).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    const many = Array.from({ length: MAX_VOTES_PER_BATCH + 1 }, () => ({
      ...base,
      requestId: randomUUID(),
    }));
    await expect(castVotes(db, many)).rejects.toThrow(/at most 64/);
    expect(await castVotes(db, [])).toEqual([]);
  });
});

describe("createVoteWriter", () => {
  it("groups concurrent votes into few statements and settles each only after its batch committed", async () => {
    const users = await Promise.all(Array.from({ length: 10 }, () => createTestUser(db)));
    const imgs = await Promise.all(Array.from({ length: 30 }, () => createTestImage(db)));
    const writer = createVoteWriter(db);
    const votes = users.flatMap((u) =>
      imgs.map((img) => ({
        keyId: null,
        userId: u.id,
        imageId: img.id,
        value: "like" as const,
        requestId: randomUUID(),
      })),
    );
    const outcomes = await Promise.all(
      votes.map((v) =>
        writer.cast(v).then(async (o) => {
          // settled ⇒ committed: another connection already sees the row
          expect(await currentVote(v.userId, v.imageId)).toBe("like");
          return o.kind;
        }),
      ),
    );
    expect(outcomes.every((k) => k === "cast")).toBe(true);
    const s = writer.stats();
    expect(s.votes).toBe(300);
    expect(s.batches).toBeLessThan(300 / 4); // grouped: the first goes alone, the rest in full batches
    expect(s.batches).toBeGreaterThanOrEqual(Math.ceil(300 / MAX_VOTES_PER_BATCH));
    for (const u of users) expect(await eventCount(u.id)).toBe(30);
    await writer.drain();
    await expect(writer.cast(votes[0] as BatchVote)).rejects.toBeInstanceOf(UnavailableError);
  });

  it("gives up on a batch that does not answer in time, goes on with the next, and the late batch still commits once", async () => {
    const user = await createTestUser(db);
    const [stuck, free] = [await createTestImage(db), await createTestImage(db)];
    const writer = createVoteWriter(db, { batchTimeoutMs: 300 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // Another session holds the vote path's per-(user, image) lock, as a concurrent vote would.
    const holder = client.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(1280770050, hashtext(${`${user.id}/${stuck.id}`}))`;
      locked();
      await held;
    });
    await isLocked;
    const stuckVote = {
      keyId: null,
      userId: user.id,
      imageId: stuck.id,
      value: "like" as const,
      requestId: randomUUID(),
    };
    const late = writer.cast(stuckVote);
    await expect(late).rejects.toBeInstanceOf(UnavailableError);
    const next = await writer.cast({ ...stuckVote, imageId: free.id, requestId: randomUUID() });
    expect(next.kind).toBe("cast");
    release();
    await holder;
    // The abandoned statement commits once the lock is free; the client's retry (same request id) is a duplicate.
    // (Its request id row was written before it waited for the lock, so the retry waits for its commit.)
    const retry = await castVoteOnce(db, stuckVote);
    expect(retry).toMatchObject({ value: "like", isDuplicate: true });
    expect(await eventCount(user.id, stuck.id)).toBe(1);
  });

  it("refuses votes beyond its queue bound at once instead of letting them wait", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const writer = createVoteWriter(db, { maxQueue: 5 });
    const v = () => ({
      keyId: null,
      userId: user.id,
      imageId: img.id,
      value: "like" as const,
      requestId: randomUUID(),
    });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => writer.cast(v())));
    // the first is in flight at once; 5 wait; the other 14 are refused
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(6);
    for (const r of results.filter((r) => r.status === "rejected"))
      expect(r.reason).toBeInstanceOf(UnavailableError);
  });
});
