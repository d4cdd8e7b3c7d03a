import { and, asc, desc, eq, lt, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import type { FeedbackEventValue, VoteValue } from "../enums.ts";
import { InvalidInputError, withDbErrors } from "../errors.ts";
import { feedbackEvent, vote } from "../schema/feedback.ts";
import { mustExist } from "./util.ts";

export type Vote = typeof vote.$inferSelect;
export type FeedbackEvent = typeof feedbackEvent.$inferSelect;

// Namespace for pg_advisory_xact_lock(int4, int4): serialises castVote per (user, image).
const LOCK_CLASS_VOTE = 0x4c57_0002;

export type CastVoteInput = {
  userId: string;
  imageId: string;
  /** null clears the vote. */
  value: VoteValue | null;
};

export type CastVoteResult = {
  userId: string;
  imageId: string;
  value: VoteValue | null;
  previousValue: VoteValue | null;
  /** False for a repeat of the current value (no event written). */
  changed: boolean;
  /** Label id of the current vote (its latest feedback_event); null when there is no vote. */
  labelId: number | null;
  /** The event this call appended, if any. */
  event: FeedbackEvent | null;
  /** True when the previous value had been claimed by a round and the new one went back to the pool. */
  requeued: boolean;
};

/**
 * The vote path: idempotent upsert of the current vote plus one feedback_event per actual change.
 * - same value again → no-op (no event, claim untouched: a consumed label stays consumed);
 * - a different value → new event = new label id, `round_id := null` so it re-enters the pool. A round that
 *   already claimed (or published with) the old value keeps it in its frozen manifest (round_label); the next
 *   round trains on the new value. Nothing is "untrained". Flipping back (A → B → A) to the value the latest
 *   live/published manifest holds is logged, but the claim skips it: that opinion was already used.
 * - null → the vote row is deleted and a "cleared" event logged; a claimed old value likewise stays in its manifest.
 * NOT_FOUND for an unknown user/image; INVALID_INPUT for a malformed id or value.
 */
export async function castVote(db: DbOrTx, input: CastVoteInput): Promise<CastVoteResult> {
  if (input.value === undefined) throw new InvalidInputError("castVote: value must be like, dislike or null");
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      await tx.execute(
        sql`select pg_advisory_xact_lock(${LOCK_CLASS_VOTE}::int4, hashtext(${input.userId}::text || '/' || ${input.imageId}::text))`,
      );
      const key = and(eq(vote.userId, input.userId), eq(vote.imageId, input.imageId));
      // FOR UPDATE waits for an in-flight claim of this row, so a change after a claim always re-queues.
      const [current] = await tx.select().from(vote).where(key).for("update");
      const previousValue = current?.value ?? null;
      const base = { userId: input.userId, imageId: input.imageId, previousValue };
      if (previousValue === input.value) {
        return {
          ...base,
          value: input.value,
          changed: false,
          labelId: current?.eventId ?? null,
          event: null,
          requeued: false,
        };
      }

      const newValue: FeedbackEventValue = input.value ?? "cleared";
      const [eventRow] = await tx
        .insert(feedbackEvent)
        .values({ userId: input.userId, imageId: input.imageId, oldValue: previousValue, newValue })
        .returning();
      const event = mustExist(eventRow, "feedback_event");

      if (input.value === null) {
        await tx.delete(vote).where(key);
      } else if (!current) {
        await tx
          .insert(vote)
          .values({ userId: input.userId, imageId: input.imageId, value: input.value, eventId: event.id });
      } else {
        await tx
          .update(vote)
          .set({
            value: input.value,
            eventId: event.id,
            roundId: null,
            claimedAt: null,
            updatedAt: sql`now()`,
          })
          .where(key);
      }
      return {
        ...base,
        value: input.value,
        changed: true,
        labelId: input.value === null ? null : event.id,
        event,
        requeued: input.value !== null && current?.roundId != null,
      };
    }),
  );
}

export async function findVote(db: DbOrTx, input: { userId: string; imageId: string }): Promise<Vote | null> {
  return withDbErrors(async () => {
    const [row] = await db
      .select()
      .from(vote)
      .where(and(eq(vote.userId, input.userId), eq(vote.imageId, input.imageId)));
    return row ?? null;
  });
}

/** The append-only history of one (user, image), oldest first. */
export async function listFeedbackEvents(
  db: DbOrTx,
  input: { userId: string; imageId: string },
): Promise<FeedbackEvent[]> {
  return withDbErrors(() =>
    db
      .select()
      .from(feedbackEvent)
      .where(and(eq(feedbackEvent.userId, input.userId), eq(feedbackEvent.imageId, input.imageId)))
      .orderBy(asc(feedbackEvent.id)),
  );
}

/** A user's current votes, most recently changed first (label ids grow with every change), keyset-paginated. */
export async function listUserVotes(
  db: DbOrTx,
  input: { userId: string; limit?: number; beforeLabelId?: number },
): Promise<{ votes: Vote[]; nextBeforeLabelId: number | null }> {
  const limit = input.limit ?? 50;
  return withDbErrors(async () => {
    const votes = await db
      .select()
      .from(vote)
      .where(
        and(
          eq(vote.userId, input.userId),
          input.beforeLabelId === undefined ? undefined : lt(vote.eventId, input.beforeLabelId),
        ),
      )
      .orderBy(desc(vote.eventId))
      .limit(limit);
    const last = votes.at(-1);
    return { votes, nextBeforeLabelId: votes.length === limit && last ? last.eventId : null };
  });
}
