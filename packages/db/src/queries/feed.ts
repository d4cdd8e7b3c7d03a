// The rater-facing read/write paths of the web app: feed pages with prompt text, batched exposures, votes keyed by
// a client request id, and "my votes" with the images they are on.
import { and, desc, eq, inArray, lt, notInArray, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import type { VoteValue } from "../enums.ts";
import { withDbErrors } from "../errors.ts";
import { exposure, vote } from "../schema/feedback.ts";
import { image } from "../schema/image.ts";
import { prompt } from "../schema/prompt.ts";
import { beforeCursor, nextCursor } from "./util.ts";
import { callCastVote, type CastVoteResult } from "./vote.ts";

export type FeedImage = {
  id: string;
  blobKey: string;
  width: number;
  height: number;
  modelVersionId: string;
  promptId: string;
  promptText: string;
  createdAt: Date;
};

/** Keyset cursor of the feed: the last image of the previous page. */
export type FeedCursor = { createdAt: Date; id: string };

const feedColumns = {
  id: image.id,
  blobKey: image.blobKey,
  width: image.width,
  height: image.height,
  modelVersionId: image.modelVersionId,
  promptId: image.promptId,
  promptText: prompt.text,
  createdAt: image.createdAt,
};

/**
 * One page of the feed: visible images of one model version the user has not rated, newest first, with their
 * prompt. `excludeIds` drops images the client already holds (skipped, or voted with the vote still in flight);
 * `before` continues after the previous page.
 */
export async function listFeedPage(
  db: DbOrTx,
  input: {
    userId: string;
    modelVersionId: string;
    limit: number;
    before?: FeedCursor | null;
    excludeIds?: readonly string[];
  },
): Promise<{ images: FeedImage[]; next: FeedCursor | null }> {
  return withDbErrors(async () => {
    const before = input.before;
    const images = await db
      .select(feedColumns)
      .from(image)
      .innerJoin(prompt, eq(prompt.id, image.promptId))
      .where(
        and(
          eq(image.modelVersionId, input.modelVersionId),
          eq(image.isHidden, false),
          sql`not exists (select 1 from ${vote} where ${vote.userId} = ${input.userId} and ${vote.imageId} = ${image.id})`,
          input.excludeIds && input.excludeIds.length > 0
            ? notInArray(image.id, [...input.excludeIds])
            : undefined,
          beforeCursor(image.createdAt, image.id, before),
        ),
      )
      .orderBy(desc(image.createdAt), desc(image.id))
      .limit(input.limit);
    return { images, next: nextCursor(images, input.limit) };
  });
}

/** Logs that these images were shown to the user (one statement). Experiment and variant come together. */
export async function recordExposures(
  db: DbOrTx,
  input: {
    userId: string;
    imageIds: readonly string[];
    experimentId?: string | null;
    variantId?: string | null;
  },
): Promise<number> {
  if (input.imageIds.length === 0) return 0;
  return withDbErrors(async () => {
    const rows = await db
      .insert(exposure)
      .values(
        input.imageIds.map((imageId) => ({
          userId: input.userId,
          imageId,
          experimentId: input.experimentId ?? null,
          variantId: input.variantId ?? null,
        })),
      )
      .returning({ id: exposure.id });
    return rows.length;
  });
}

export type CastVoteOnceResult = CastVoteResult & {
  /** True when this request id was seen before: nothing was changed, the vote's current state is returned. */
  isDuplicate: boolean;
};

/**
 * castVote keyed by a client-generated request id: the id is stored in the vote's transaction, so a retried or
 * double-submitted request (even one that arrives after a later vote) never changes anything twice. Reusing an id
 * for a different image or value is INVALID_INPUT. Once this returns, the vote is committed.
 */
export async function castVoteOnce(
  db: DbOrTx,
  input: { userId: string; imageId: string; value: VoteValue | null; requestId: string },
): Promise<CastVoteOnceResult> {
  return callCastVote(db, input);
}

export type UserVoteWithImage = {
  imageId: string;
  value: VoteValue;
  labelId: number;
  updatedAt: Date;
  blobKey: string;
  width: number;
  height: number;
  promptText: string;
  modelVersionId: string;
  isHidden: boolean;
};

/** "My votes": the user's current votes with their images, most recently changed first, keyset by label id. */
export async function listUserVotesWithImages(
  db: DbOrTx,
  input: { userId: string; limit: number; beforeLabelId?: number | null },
): Promise<{ votes: UserVoteWithImage[]; nextBeforeLabelId: number | null }> {
  return withDbErrors(async () => {
    const votes = await db
      .select({
        imageId: vote.imageId,
        value: vote.value,
        labelId: vote.eventId,
        updatedAt: vote.updatedAt,
        blobKey: image.blobKey,
        width: image.width,
        height: image.height,
        promptText: prompt.text,
        modelVersionId: image.modelVersionId,
        isHidden: image.isHidden,
      })
      .from(vote)
      .innerJoin(image, eq(image.id, vote.imageId))
      .innerJoin(prompt, eq(prompt.id, image.promptId))
      .where(
        and(
          eq(vote.userId, input.userId),
          input.beforeLabelId == null ? undefined : lt(vote.eventId, input.beforeLabelId),
        ),
      )
      .orderBy(desc(vote.eventId))
      .limit(input.limit);
    const last = votes.at(-1);
    return { votes, nextBeforeLabelId: votes.length === input.limit && last ? last.labelId : null };
  });
}

/** The user's current votes on the given images (to show state on cards). */
export async function listVotesOnImages(
  db: DbOrTx,
  input: { userId: string; imageIds: readonly string[] },
): Promise<{ imageId: string; value: VoteValue }[]> {
  if (input.imageIds.length === 0) return [];
  return withDbErrors(() =>
    db
      .select({ imageId: vote.imageId, value: vote.value })
      .from(vote)
      .where(and(eq(vote.userId, input.userId), inArray(vote.imageId, [...input.imageIds]))),
  );
}
