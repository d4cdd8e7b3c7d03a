import { randomUUID } from "node:crypto";

import { and, count, eq } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";

import { createDb } from "../client.ts";
import { feedbackEvent, exposure } from "../schema/feedback.ts";
import { expectDbError } from "../testing/expect-db-error.ts";
import {
  createTestImage,
  createTestModelVersion,
  createTestPrompt,
  createTestUser,
  fakeSha256,
} from "../testing/index.ts";
import {
  listActiveModels,
  listImagesForModeration,
  listLikeRateByModelVersion,
  listPrompts,
  listUsers,
  listVotesPerHour,
} from "./admin.ts";
import { createApiKey, findApiKeyUser, listApiKeys, revokeApiKey } from "./api-key.ts";
import { castVoteOnce, listFeedPage, listUserVotesWithImages, recordExposures } from "./feed.ts";
import { setImageHidden } from "./image.ts";
import { setUserBlocked } from "./user.ts";
import { castVote } from "./vote.ts";

const { db, close } = createDb(inject("databaseUrl"), { max: 4 });
afterAll(close);

async function eventCount(userId: string, imageId: string) {
  const [row] = await db
    .select({ n: count() })
    .from(feedbackEvent)
    .where(and(eq(feedbackEvent.userId, userId), eq(feedbackEvent.imageId, imageId)));
  return row?.n;
}

describe("listFeedPage", () => {
  it("pages unrated visible images of one version newest first, with prompt text, skipping excluded ids", async () => {
    const user = await createTestUser(db);
    const version = await createTestModelVersion(db);
    const prompt = await createTestPrompt(db, { text: `a red circle ${randomUUID()}` });
    const imgs = [];
    for (let i = 0; i < 5; i++)
      imgs.push(await createTestImage(db, { modelVersionId: version.id, promptId: prompt.id }));
    await createTestImage(db); // another version: never in this feed
    const [i0, i1, i2, i3, i4] = [...imgs].reverse(); // newest first
    await castVote(db, { userId: user.id, imageId: i1?.id ?? "", value: "like" });
    await setImageHidden(db, { imageId: i2?.id ?? "", hidden: true });

    const p1 = await listFeedPage(db, { userId: user.id, modelVersionId: version.id, limit: 1 });
    expect(p1.images.map((i) => i.id)).toEqual([i0?.id]);
    expect(p1.images[0]?.promptText).toBe(prompt.text);
    const p2 = await listFeedPage(db, {
      userId: user.id,
      modelVersionId: version.id,
      limit: 5,
      before: p1.next,
    });
    expect(p2.images.map((i) => i.id)).toEqual([i3?.id, i4?.id]);
    expect(p2.next).toBeNull();
    const ex = await listFeedPage(db, {
      userId: user.id,
      modelVersionId: version.id,
      limit: 5,
      excludeIds: [i0?.id ?? "", i3?.id ?? ""],
    });
    expect(ex.images.map((i) => i.id)).toEqual([i4?.id]);
  });
});

describe("recordExposures", () => {
  it("logs one exposure row per image in one statement", async () => {
    const user = await createTestUser(db);
    const a = await createTestImage(db);
    const b = await createTestImage(db);
    expect(await recordExposures(db, { userId: user.id, imageIds: [a.id, b.id] })).toBe(2);
    expect(await recordExposures(db, { userId: user.id, imageIds: [] })).toBe(0);
    const [row] = await db.select({ n: count() }).from(exposure).where(eq(exposure.userId, user.id));
    expect(row?.n).toBe(2);
  });
});

describe("castVoteOnce", () => {
  it("applies a request id once: a repeat, even after a later vote, changes nothing", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const like = { userId: user.id, imageId: img.id, value: "like" as const, requestId: randomUUID() };
    const first = await castVoteOnce(db, like);
    expect(first).toMatchObject({ value: "like", changed: true, isDuplicate: false });
    const again = await castVoteOnce(db, like);
    expect(again).toMatchObject({ value: "like", changed: false, isDuplicate: true, labelId: first.labelId });
    await castVoteOnce(db, { ...like, value: null, requestId: randomUUID() });
    const late = await castVoteOnce(db, like); // a retry arriving after the clear
    expect(late).toMatchObject({ value: null, isDuplicate: true });
    expect(await eventCount(user.id, img.id)).toBe(2);
  });

  it("concurrent copies of one request write one event", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const req = { userId: user.id, imageId: img.id, value: "dislike" as const, requestId: randomUUID() };
    const results = await Promise.all(Array.from({ length: 6 }, () => castVoteOnce(db, req)));
    expect(results.filter((r) => !r.isDuplicate)).toHaveLength(1);
    expect(await eventCount(user.id, img.id)).toBe(1);
  });

  it("refuses a request id reused for another vote, and unknown images", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const requestId = randomUUID();
    await castVoteOnce(db, { userId: user.id, imageId: img.id, value: "like", requestId });
    await expectDbError(
      castVoteOnce(db, { userId: user.id, imageId: img.id, value: "dislike", requestId }),
      "INVALID_INPUT",
    );
    await expectDbError(
      castVoteOnce(db, { userId: user.id, imageId: randomUUID(), value: "like", requestId: randomUUID() }),
      "NOT_FOUND",
    );
  });
});

describe("listUserVotesWithImages", () => {
  it("lists current votes with image and prompt, newest change first, keyset-paged", async () => {
    const user = await createTestUser(db);
    const a = await createTestImage(db);
    const b = await createTestImage(db);
    await castVote(db, { userId: user.id, imageId: a.id, value: "like" });
    await castVote(db, { userId: user.id, imageId: b.id, value: "dislike" });
    await castVote(db, { userId: user.id, imageId: a.id, value: "dislike" });
    const p1 = await listUserVotesWithImages(db, { userId: user.id, limit: 1 });
    expect(p1.votes.map((v) => [v.imageId, v.value])).toEqual([[a.id, "dislike"]]);
    expect(p1.votes[0]?.blobKey).toBe(a.blobKey);
    const p2 = await listUserVotesWithImages(db, {
      userId: user.id,
      limit: 5,
      beforeLabelId: p1.nextBeforeLabelId,
    });
    expect(p2.votes.map((v) => v.imageId)).toEqual([b.id]);
  });
});

describe("admin lists and dashboard aggregates", () => {
  it("lists users by search with vote counts", async () => {
    const tag = randomUUID().slice(0, 8);
    const u = await createTestUser(db, { email: `find-${tag}@example.test` });
    await castVote(db, { userId: u.id, imageId: (await createTestImage(db)).id, value: "like" });
    const { users } = await listUsers(db, { search: `find-${tag}`, limit: 10 });
    expect(users).toEqual([expect.objectContaining({ id: u.id, voteCount: 1, role: "rater" })]);
    expect((await listUsers(db, { search: "%", limit: 10 })).users).toEqual([]); // wildcards are literal
  });

  it("lists images with vote counts and the prompt pool", async () => {
    const img = await createTestImage(db);
    const user = await createTestUser(db);
    await castVote(db, { userId: user.id, imageId: img.id, value: "dislike" });
    const { images } = await listImagesForModeration(db, { limit: 200 });
    expect(images.find((i) => i.id === img.id)).toMatchObject({ likes: 0, dislikes: 1, isHidden: false });
    const { prompts } = await listPrompts(db, { limit: 500 });
    expect(prompts.find((p) => p.id === img.promptId)).toMatchObject({ imageCount: 1, source: "curated" });
  });

  it("counts votes per hour and like rate per model version", async () => {
    const version = await createTestModelVersion(db);
    const users = [await createTestUser(db), await createTestUser(db), await createTestUser(db)];
    const img = await createTestImage(db, { modelVersionId: version.id });
    for (const [i, u] of users.entries())
      await castVote(db, { userId: u.id, imageId: img.id, value: i === 0 ? "dislike" : "like" });
    const hours = await listVotesPerHour(db, { hours: 24 });
    expect(hours).toHaveLength(24);
    expect(hours.at(-1)?.likes).toBeGreaterThanOrEqual(2);
    const rates = await listLikeRateByModelVersion(db, { days: 7 });
    expect(rates.filter((r) => r.modelVersionId === version.id)).toEqual([
      expect.objectContaining({ likes: 2, votes: 3, likeRate: 2 / 3 }),
    ]);
    expect(Array.isArray(await listActiveModels(db))).toBe(true);
  });
});

describe("api keys", () => {
  it("finds the user behind a live key only; revoking and blocking turn it off", async () => {
    const user = await createTestUser(db);
    const keyHash = fakeSha256();
    const key = await createApiKey(db, { name: "embed", prefix: "lw_abc", keyHash, userId: user.id });
    expect(key).not.toHaveProperty("keyHash");
    expect(await findApiKeyUser(db, { keyHash })).toMatchObject({ keyId: key.id, userId: user.id });
    expect((await listApiKeys(db)).find((k) => k.id === key.id)).toMatchObject({ userEmail: user.email });
    await setUserBlocked(db, { userId: user.id, blocked: true });
    expect(await findApiKeyUser(db, { keyHash })).toBeNull();
    await setUserBlocked(db, { userId: user.id, blocked: false });
    await revokeApiKey(db, { id: key.id });
    expect(await findApiKeyUser(db, { keyHash })).toBeNull();
    await expectDbError(revokeApiKey(db, { id: randomUUID() }), "NOT_FOUND");
    await expectDbError(createApiKey(db, { name: "dup", prefix: "x", keyHash, userId: user.id }), "CONFLICT");
  });
});
