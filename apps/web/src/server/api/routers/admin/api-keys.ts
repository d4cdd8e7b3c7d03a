import "~/server/only";

import { type TRPCRouterRecord, TRPCError } from "@trpc/server";

import { createApiKey, findUserByEmail, listApiKeys, revokeApiKey } from "@likewise/db";

import { CreateApiKeyInput, RevokeApiKeyInput } from "~/lib/schemas";

import { generateApiKey } from "../../../api-keys";
import { adminProcedure } from "../../trpc";

export const apiKeysRouter = {
  list: adminProcedure.query(({ ctx }) => listApiKeys(ctx.db)),

  /** Issues a key acting as the given user. The key itself is returned only here; only its hash is stored. */
  create: adminProcedure.input(CreateApiKeyInput).mutation(async ({ ctx, input }) => {
    const user = await findUserByEmail(ctx.db, input.userEmail);
    if (!user)
      throw new TRPCError({ code: "NOT_FOUND", message: `no account with the email ${input.userEmail}` });
    const { key, prefix, keyHash } = generateApiKey();
    const row = await createApiKey(ctx.db, {
      name: input.name,
      prefix,
      keyHash,
      userId: user.id,
      createdBy: ctx.viewer.id,
    });
    return { ...row, key };
  }),

  revoke: adminProcedure.input(RevokeApiKeyInput).mutation(({ ctx, input }) => revokeApiKey(ctx.db, input)),
} satisfies TRPCRouterRecord;
