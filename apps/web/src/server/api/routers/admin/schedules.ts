import "~/server/only";

import type { TRPCRouterRecord } from "@trpc/server";

import { createRound, createSchedule, getSchedule, listSchedules, updateSchedule } from "@likewise/db";

import { CreateScheduleInput, ScheduleIdInput, UpdateScheduleInput } from "~/lib/round-schemas";

import { adminProcedure, analystProcedure } from "../../trpc";

export const schedulesRouter = {
  list: analystProcedure.query(({ ctx }) => listSchedules(ctx.db)),

  create: adminProcedure
    .input(CreateScheduleInput)
    .mutation(({ ctx, input }) => createSchedule(ctx.db, { ...input, createdBy: ctx.viewer.id })),

  /** Partial update; disabling (isEnabled false) is how a schedule is retired (rounds keep pointing at it). */
  update: adminProcedure
    .input(UpdateScheduleInput)
    .mutation(({ ctx, input }) => updateSchedule(ctx.db, input)),

  /** A round with this schedule's config and promotion policy, now (the minimum/balance checks are the worker's). */
  runNow: adminProcedure.input(ScheduleIdInput).mutation(async ({ ctx, input }) => {
    const s = await getSchedule(ctx.db, input.scheduleId);
    const promotion =
      s.promotionPolicy === "experiment"
        ? { policy: "experiment", trafficPercent: s.experimentTrafficPercent ?? 10 }
        : { policy: s.promotionPolicy === "promote_if_gate" ? "promote" : "none" };
    const round = await createRound(ctx.db, {
      trigger: "manual",
      scheduleId: s.id,
      requestedBy: ctx.viewer.id,
      objectiveConfig: { ...s.roundConfig, promotion },
    });
    await (await ctx.services.queue()).send("round", { roundId: round.id }, { singletonKey: round.id });
    return round;
  }),
} satisfies TRPCRouterRecord;
