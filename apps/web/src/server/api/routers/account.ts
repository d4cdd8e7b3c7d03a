import "~/server/only";

import type { TRPCRouterRecord } from "@trpc/server";

import { getUser, setTrainingConsent } from "@likewise/db";

import { SetConsentInput } from "~/lib/schemas";

import { publicProcedure, raterProcedure } from "../trpc";

function profile(u: Awaited<ReturnType<typeof getUser>>) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    trainingConsent: u.trainingConsent,
    trainingConsentChangedAt: u.trainingConsentChangedAt,
  };
}

export const accountRouter = {
  /** The signed-in user's profile, or null for visitors. */
  me: publicProcedure.query(async ({ ctx }) =>
    ctx.viewer ? profile(await getUser(ctx.db, ctx.viewer.id)) : null,
  ),

  setConsent: raterProcedure
    .input(SetConsentInput)
    .mutation(async ({ ctx, input }) =>
      profile(await setTrainingConsent(ctx.db, { userId: ctx.viewer.id, consent: input.consent })),
    ),
} satisfies TRPCRouterRecord;
