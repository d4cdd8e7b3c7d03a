import "~/server/only";

import type { TRPCRouterRecord } from "@trpc/server";

import {
  countLabelPool,
  findProductionModelVersion,
  listActiveModels,
  listLikeRateByModelVersion,
  listVotesPerHour,
} from "@likewise/db";

import { analystProcedure } from "../../trpc";

export const dashboardRouter = {
  /** Votes per hour (48 h), like rate per model version per day (14 d), the production family's label pool, active models. */
  stats: analystProcedure.query(async ({ ctx }) => {
    const production = await findProductionModelVersion(ctx.db);
    const [votesPerHour, likeRate, activeModels, labelPool] = await Promise.all([
      listVotesPerHour(ctx.db, { hours: 48 }),
      listLikeRateByModelVersion(ctx.db, { days: 14 }),
      listActiveModels(ctx.db),
      production ? countLabelPool(ctx.db, { family: production.family }) : Promise.resolve(null),
    ]);
    return { votesPerHour, likeRate, activeModels, labelPool, productionFamily: production?.family ?? null };
  }),
} satisfies TRPCRouterRecord;
