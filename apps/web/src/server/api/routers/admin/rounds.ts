import "~/server/only";

import { type TRPCRouterRecord, TRPCError } from "@trpc/server";

import { createRound, getRound, listRoundLabels, listRounds, updateRoundStatus } from "@likewise/db";

import { ListRoundsInput, RoundIdInput, RunRoundInput } from "~/lib/round-schemas";

import { adminProcedure, analystProcedure } from "../../trpc";

/** Per-variant origin of a round's labels: how many likes/dislikes came from images of each model version. */
function labelMix(labels: readonly { modelVersionId: string; value: "like" | "dislike" }[]) {
  const byVersion = new Map<string, { modelVersionId: string; like: number; dislike: number }>();
  for (const l of labels) {
    const row = byVersion.get(l.modelVersionId) ?? { modelVersionId: l.modelVersionId, like: 0, dislike: 0 };
    row[l.value]++;
    byVersion.set(l.modelVersionId, row);
  }
  return [...byVersion.values()];
}

export const roundsRouter = {
  list: analystProcedure
    .input(ListRoundsInput)
    .query(({ ctx, input }) => listRounds(ctx.db, { limit: input.limit })),

  /** One round with its live progress, metrics (curves, gate), and the label mix of its frozen manifest. */
  get: analystProcedure.input(RoundIdInput).query(async ({ ctx, input }) => {
    const round = await getRound(ctx.db, input.roundId);
    const labels = await listRoundLabels(ctx.db, { roundId: input.roundId });
    return { round, labelMix: labelMix(labels), labelCount: labels.length };
  }),

  /** "Run now": queues a round (parent: production unless given); the trainer worker picks it up. */
  runNow: adminProcedure.input(RunRoundInput).mutation(async ({ ctx, input }) => {
    const round = await createRound(ctx.db, {
      trigger: "manual",
      objectiveConfig: input.config,
      requestedBy: ctx.viewer.id,
      ...(input.parentModelVersionId ? { parentModelVersionId: input.parentModelVersionId } : {}),
    });
    const queue = await ctx.services.queue();
    await queue.send("round", { roundId: round.id }, { singletonKey: round.id });
    return round;
  }),

  /** Cancels a live round: its labels return to the pool in the same transaction, nothing is published. */
  cancel: adminProcedure.input(RoundIdInput).mutation(async ({ ctx, input }) => {
    const round = await getRound(ctx.db, input.roundId);
    if (["published", "rejected", "failed", "canceled"].includes(round.status))
      throw new TRPCError({ code: "PRECONDITION_FAILED", message: `round is already ${round.status}` });
    const { round: ended, releasedLabels } = await updateRoundStatus(ctx.db, {
      roundId: input.roundId,
      to: "canceled",
      error: `canceled by ${ctx.viewer.email}`,
    });
    return { round: ended, releasedLabels };
  }),
} satisfies TRPCRouterRecord;
