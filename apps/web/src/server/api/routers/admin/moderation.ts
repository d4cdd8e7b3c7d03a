import "~/server/only";

import type { TRPCRouterRecord } from "@trpc/server";

import { listImagesForModeration, setImageHidden } from "@likewise/db";

import { ListImagesInput, SetHiddenInput } from "~/lib/schemas";

import { adminProcedure, analystProcedure } from "../../trpc";

export const moderationRouter = {
  images: analystProcedure.input(ListImagesInput).query(({ ctx, input }) =>
    listImagesForModeration(ctx.db, {
      limit: input.limit,
      hiddenOnly: input.hiddenOnly,
      before: input.cursor,
    }),
  ),

  /** Hidden images leave every feed and their votes are never claimed for training. */
  setHidden: adminProcedure
    .input(SetHiddenInput)
    .mutation(({ ctx, input }) => setImageHidden(ctx.db, { ...input, actorId: ctx.viewer.id })),
} satisfies TRPCRouterRecord;
