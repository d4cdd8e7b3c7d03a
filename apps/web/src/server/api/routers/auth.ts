import "~/server/only";

import { type TRPCRouterRecord, TRPCError } from "@trpc/server";

import { ConflictError, createUser, hashPassword } from "@likewise/db";

import { SignUpInput } from "~/lib/schemas";

import { enforceLimit, publicProcedure } from "../trpc";

export const authRouter = {
  /** Creates a rater account with the consent choice made on the form; the client then signs in. */
  signUp: publicProcedure.input(SignUpInput).mutation(async ({ ctx, input }) => {
    enforceLimit(ctx.limits.signUp.take(`ip:${ctx.ip}`), "sign-ups from this address");
    try {
      const user = await createUser(ctx.db, {
        email: input.email,
        name: input.name || null,
        passwordHash: await hashPassword(input.password),
        trainingConsent: input.trainingConsent,
      });
      return { id: user.id, email: user.email };
    } catch (e) {
      if (e instanceof ConflictError)
        throw new TRPCError({ code: "CONFLICT", message: "an account with this email exists" });
      throw e;
    }
  }),
} satisfies TRPCRouterRecord;
