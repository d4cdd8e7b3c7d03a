import "~/server/only";

import type { TRPCRouterRecord } from "@trpc/server";

import { listFeedPage, recordExposures } from "@likewise/db";

import { FeedNextInput, FeedPageInput } from "~/lib/schemas";

import { resolveViewerVariant } from "../../services/variant";
import { raterProcedure } from "../trpc";

export const feedRouter = {
  /** The next unrated image of the viewer's variant (logged as an exposure), or null when none is left. */
  next: raterProcedure.input(FeedNextInput).query(async ({ ctx, input }) => {
    const variant = await resolveViewerVariant(ctx.db, ctx.viewer.id);
    if (!variant) return { image: null, modelVersionId: null };
    const { images } = await listFeedPage(ctx.db, {
      userId: ctx.viewer.id,
      modelVersionId: variant.modelVersionId,
      limit: 1,
      excludeIds: input.excludeIds,
    });
    const image = images[0] ?? null;
    if (image) await recordExposures(ctx.db, { ...variant, userId: ctx.viewer.id, imageIds: [image.id] });
    return { image, modelVersionId: variant.modelVersionId };
  }),

  /** A grid page of unrated images (all logged as exposures: the grid shows them at once). */
  page: raterProcedure.input(FeedPageInput).query(async ({ ctx, input }) => {
    const variant = await resolveViewerVariant(ctx.db, ctx.viewer.id);
    if (!variant) return { images: [], next: null };
    const page = await listFeedPage(ctx.db, {
      userId: ctx.viewer.id,
      modelVersionId: variant.modelVersionId,
      limit: input.limit,
      before: input.cursor,
      excludeIds: input.excludeIds,
    });
    await recordExposures(ctx.db, {
      ...variant,
      userId: ctx.viewer.id,
      imageIds: page.images.map((i) => i.id),
    });
    return page;
  }),
} satisfies TRPCRouterRecord;
