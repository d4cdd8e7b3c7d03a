import { and, count, eq } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";

import { createDb } from "../client.ts";
import { withDbErrors } from "../errors.ts";
import { expectDbError } from "../testing/expect-db-error.ts";
import { user as userTable } from "../schema/auth.ts";
import { feedbackEvent, vote } from "../schema/feedback.ts";
import { createTestImage, createTestRound, createTestUser } from "../testing/index.ts";
import { claimLabelsForRound } from "./label.ts";
import { castVote, findVote, listFeedbackEvents } from "./vote.ts";

const { db, close } = createDb(inject("databaseUrl"), { max: 4 });
afterAll(close);

async function countRows(userId: string, imageId: string) {
  const [votes] = await db
    .select({ n: count() })
    .from(vote)
    .where(and(eq(vote.userId, userId), eq(vote.imageId, imageId)));
  const [events] = await db
    .select({ n: count() })
    .from(feedbackEvent)
    .where(and(eq(feedbackEvent.userId, userId), eq(feedbackEvent.imageId, imageId)));
  return { votes: votes?.n, events: events?.n };
}

describe("castVote", () => {
  it("stores one vote per (user, image) and logs the first vote as an event", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const r = await castVote(db, { userId: user.id, imageId: img.id, value: "like" });
    expect(r).toMatchObject({ value: "like", previousValue: null, changed: true, requeued: false });
    expect(r.event).toMatchObject({ oldValue: null, newValue: "like" });
    expect(r.labelId).toBe(r.event?.id);
    expect(await countRows(user.id, img.id)).toEqual({ votes: 1, events: 1 });
    // The primary key itself refuses a second row for the pair.
    const dup = withDbErrors(() =>
      db.insert(vote).values({ userId: user.id, imageId: img.id, value: "dislike", eventId: r.labelId ?? 0 }),
    );
    expect((await expectDbError(dup, "CONFLICT")).constraint).toBe("vote_user_id_image_id_pk");
  });

  it("re-voting the same value is a no-op: no event, same label", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const first = await castVote(db, { userId: user.id, imageId: img.id, value: "dislike" });
    const again = await castVote(db, { userId: user.id, imageId: img.id, value: "dislike" });
    expect(again).toMatchObject({
      changed: false,
      value: "dislike",
      previousValue: "dislike",
      event: null,
      labelId: first.labelId,
    });
    expect(await countRows(user.id, img.id)).toEqual({ votes: 1, events: 1 });
  });

  it("concurrent identical votes (double click, retries) create one vote and one event", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => castVote(db, { userId: user.id, imageId: img.id, value: "like" })),
    );
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.labelId)).size).toBe(1);
    expect(await countRows(user.id, img.id)).toEqual({ votes: 1, events: 1 });
  });

  it("changing a vote records an event, gives a new label id and re-queues a claimed label", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const first = await castVote(db, { userId: user.id, imageId: img.id, value: "like" });
    const round = await createTestRound(db, { parentModelVersionId: img.modelVersionId });
    const claim = await claimLabelsForRound(db, { roundId: round.id });
    expect(claim.labels.map((l) => l.labelId)).toEqual([first.labelId]);
    expect((await findVote(db, { userId: user.id, imageId: img.id }))?.roundId).toBe(round.id);

    const changed = await castVote(db, { userId: user.id, imageId: img.id, value: "dislike" });
    expect(changed).toMatchObject({ changed: true, value: "dislike", previousValue: "like", requeued: true });
    expect(changed.labelId).not.toBe(first.labelId);
    const now = await findVote(db, { userId: user.id, imageId: img.id });
    expect(now).toMatchObject({ value: "dislike", roundId: null, claimedAt: null, eventId: changed.labelId });
    const events = await listFeedbackEvents(db, { userId: user.id, imageId: img.id });
    expect(events.map((e) => [e.oldValue, e.newValue])).toEqual([
      [null, "like"],
      ["like", "dislike"],
    ]);
  });

  it("clearing deletes the vote and logs a 'cleared' event; clearing nothing is a no-op", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const none = await castVote(db, { userId: user.id, imageId: img.id, value: null });
    expect(none).toMatchObject({ changed: false, value: null, event: null });
    await castVote(db, { userId: user.id, imageId: img.id, value: "like" });
    const cleared = await castVote(db, { userId: user.id, imageId: img.id, value: null });
    expect(cleared).toMatchObject({ changed: true, value: null, previousValue: "like", labelId: null });
    expect(cleared.event).toMatchObject({ oldValue: "like", newValue: "cleared" });
    expect(await findVote(db, { userId: user.id, imageId: img.id })).toBeNull();
    expect(await countRows(user.id, img.id)).toEqual({ votes: 0, events: 2 });
  });

  it("rejects unknown references with NOT_FOUND and malformed ids/values with INVALID_INPUT, writing nothing", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const unknownImage = await expectDbError(
      castVote(db, { userId: user.id, imageId: "00000000-0000-4000-8000-000000000000", value: "like" }),
      "NOT_FOUND",
    );
    expect(unknownImage.constraint).toBe("feedback_event_image_id_image_id_fk");
    const unknownUser = await expectDbError(
      castVote(db, { userId: "00000000-0000-4000-8000-000000000001", imageId: img.id, value: "like" }),
      "NOT_FOUND",
    );
    expect(unknownUser.constraint).toBe("feedback_event_user_id_user_id_fk");
    await expectDbError(
      castVote(db, { userId: "not-a-uuid", imageId: img.id, value: "like" }),
      "INVALID_INPUT",
    );
    // A caller that bypasses the types still hits the enum in the database.
    const badValue = JSON.parse('{"value":"meh"}') as { value: "like" };
    await expectDbError(
      castVote(db, { userId: user.id, imageId: img.id, value: badValue.value }),
      "INVALID_INPUT",
    );
    expect(await countRows(user.id, img.id)).toEqual({ votes: 0, events: 0 });
  });
});

describe("the feedback log", () => {
  it("is append-only: updates and direct deletes are refused with INVALID_STATE", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const r = await castVote(db, { userId: user.id, imageId: img.id, value: "like" });
    const id = r.event?.id ?? -1;
    const edit = withDbErrors(() =>
      db.update(feedbackEvent).set({ newValue: "dislike" }).where(eq(feedbackEvent.id, id)),
    );
    expect((await expectDbError(edit, "INVALID_STATE")).message).toMatch(/append-only/);
    const del = withDbErrors(() => db.delete(feedbackEvent).where(eq(feedbackEvent.id, id)));
    await expectDbError(del, "INVALID_STATE");
    expect(
      (await listFeedbackEvents(db, { userId: user.id, imageId: img.id })).map((e) => e.newValue),
    ).toEqual(["like"]);
  });

  it("erasing a user removes their votes and events, unless a round's manifest holds their labels", async () => {
    const img = await createTestImage(db);
    const gone = await createTestUser(db);
    await castVote(db, { userId: gone.id, imageId: img.id, value: "like" });
    await castVote(db, { userId: gone.id, imageId: img.id, value: "dislike" });
    await db.delete(userTable).where(eq(userTable.id, gone.id));
    expect(await countRows(gone.id, img.id)).toEqual({ votes: 0, events: 0 });

    const used = await createTestUser(db);
    await castVote(db, { userId: used.id, imageId: img.id, value: "like" });
    const round = await createTestRound(db, { parentModelVersionId: img.modelVersionId });
    await claimLabelsForRound(db, { roundId: round.id });
    const erase = withDbErrors(() => db.delete(userTable).where(eq(userTable.id, used.id)));
    expect((await expectDbError(erase, "CONFLICT")).constraint).toBe(
      "round_label_event_id_feedback_event_id_fk",
    );
    expect(await countRows(used.id, img.id)).toEqual({ votes: 1, events: 1 });
  });
});
