import "~/server/only";

import { type TRPCRouterRecord, TRPCError } from "@trpc/server";

import { listUsers, setUserBlocked, setUserExcludedFromTraining, setUserRole } from "@likewise/db";

import { ListUsersInput, SetBlockedInput, SetExcludedInput, SetRoleInput } from "~/lib/schemas";

import { adminProcedure, analystProcedure } from "../../trpc";

function notSelf(viewerId: string, userId: string, what: string) {
  if (viewerId === userId)
    throw new TRPCError({ code: "PRECONDITION_FAILED", message: `you cannot ${what} yourself` });
}

export const usersRouter = {
  list: analystProcedure
    .input(ListUsersInput)
    .query(({ ctx, input }) =>
      listUsers(ctx.db, { search: input.search || undefined, limit: input.limit, before: input.cursor }),
    ),

  setRole: adminProcedure.input(SetRoleInput).mutation(({ ctx, input }) => {
    notSelf(ctx.viewer.id, input.userId, "change the role of"); // keeps at least the acting admin an admin
    return setUserRole(ctx.db, input);
  }),

  setBlocked: adminProcedure.input(SetBlockedInput).mutation(({ ctx, input }) => {
    notSelf(ctx.viewer.id, input.userId, "block");
    return setUserBlocked(ctx.db, input);
  }),

  /** Moderation: this user's votes are never claimed for training. */
  setExcluded: adminProcedure
    .input(SetExcludedInput)
    .mutation(({ ctx, input }) => setUserExcludedFromTraining(ctx.db, input)),
} satisfies TRPCRouterRecord;
