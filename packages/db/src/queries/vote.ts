import { and, asc, desc, eq, lt, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import type { VoteValue } from "../enums.ts";
import { InvalidInputError, withDbErrors } from "../errors.ts";
import { feedbackEvent, vote } from "../schema/feedback.ts";
import { mustExist } from "./util.ts";

export type Vote = typeof vote.$inferSelect;
export type FeedbackEvent = typeof feedbackEvent.$inferSelect;

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

/** One row of likewise_cast_vote (drizzle/0011): the vote path in a single server-side call. */
type CastVoteRow = {
  value: VoteValue | null;
  previous_value: VoteValue | null;
  changed: boolean;
  label_id: string | number | null;
  requeued: boolean;
  is_duplicate: boolean;
  event_id: string | number | null;
  event_at: string | Date | null;
};

/**
 * Runs likewise_cast_vote (drizzle/0011_cast-vote-function.sql), which holds the rules documented on castVote, in one
 * statement: one round trip per vote instead of a transaction of nine. `requestId` null = no idempotency key.
 */
export async function callCastVote(
  db: DbOrTx,
  input: CastVoteInput & { requestId: string | null },
): Promise<CastVoteResult & { isDuplicate: boolean }> {
  if (input.value === undefined) throw new InvalidInputError("castVote: value must be like, dislike or null");
  return withDbErrors(async () => {
    const res = await db.execute(
      sql`select * from likewise_cast_vote(${input.userId}::uuid, ${input.imageId}::uuid, ${input.value}::vote_value, ${input.requestId}::uuid)`,
    );
    // safe because likewise_cast_vote returns exactly one row of this shape (RETURNS TABLE in 0011)
    const row = mustExist((res as unknown as CastVoteRow[])[0], "likewise_cast_vote");
    const eventId = row.event_id === null ? null : Number(row.event_id);
    return {
      userId: input.userId,
      imageId: input.imageId,
      value: row.value,
      previousValue: row.previous_value,
      changed: row.changed,
      labelId: row.label_id === null ? null : Number(row.label_id),
      event:
        eventId === null
          ? null
          : {
              id: eventId,
              userId: input.userId,
              imageId: input.imageId,
              oldValue: row.previous_value,
              newValue: input.value ?? "cleared",
              at: new Date(row.event_at ?? Date.now()),
            },
      requeued: row.requeued,
      isDuplicate: row.is_duplicate,
    };
  });
}

/**
 * The vote path: idempotent upsert of the current vote plus one feedback_event per actual change, serialised per
 * (user, image) by an advisory lock.
 * - same value again → no-op (no event, claim untouched: a consumed label stays consumed);
 * - a different value → new event = new label id, `round_id := null` so it re-enters the pool. A round that
 *   already claimed (or published with) the old value keeps it in its frozen manifest (round_label); the next
 *   round trains on the new value. Nothing is "untrained". Flipping back (A → B → A) to the value the latest
 *   live/published manifest holds is logged, but the claim skips it: that opinion was already used.
 * - null → the vote row is deleted and a "cleared" event logged; a claimed old value likewise stays in its manifest.
 * NOT_FOUND for an unknown user/image; INVALID_INPUT for a malformed id or value.
 */
export async function castVote(db: DbOrTx, input: CastVoteInput): Promise<CastVoteResult> {
  const { isDuplicate: _never, ...r } = await callCastVote(db, { ...input, requestId: null });
  return r;
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
