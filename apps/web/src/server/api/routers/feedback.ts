import "~/server/only";

import type { TRPCRouterRecord } from "@trpc/server";

import { castVoteOnce, listUserVotesWithImages } from "@likewise/db";

import { MyVotesInput, VoteInput } from "~/lib/schemas";

import { enforceLimit, raterProcedure } from "../trpc";

export const feedbackRouter = {
  /** Like, dislike or clear (null). Idempotent per requestId; the response means the vote is committed. */
  vote: raterProcedure.input(VoteInput).mutation(async ({ ctx, input }) => {
    enforceLimit(ctx.limits.vote.take(ctx.viewer.id), "votes");
    const r = await castVoteOnce(ctx.db, { ...input, userId: ctx.viewer.id });
    return {
      imageId: r.imageId,
      value: r.value,
      changed: r.changed,
      isDuplicate: r.isDuplicate,
      labelId: r.labelId,
    };
  }),

  /** "My votes", most recently changed first. */
  mine: raterProcedure.input(MyVotesInput).query(({ ctx, input }) =>
    listUserVotesWithImages(ctx.db, {
      userId: ctx.viewer.id,
      limit: input.limit,
      beforeLabelId: input.cursor,
    }),
  ),
} satisfies TRPCRouterRecord;
