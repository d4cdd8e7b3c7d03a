import "~/server/only";

import { TRPCError } from "@trpc/server";

import { DbError, type DbErrorCode } from "@likewise/db";

const CODE: Record<DbErrorCode, TRPCError["code"]> = {
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  INVALID_STATE: "PRECONDITION_FAILED",
  INVALID_INPUT: "BAD_REQUEST",
  UNAVAILABLE: "SERVICE_UNAVAILABLE",
  INTERNAL: "INTERNAL_SERVER_ERROR",
};

/** Domain error → client-facing TRPCError; undefined for anything we don't recognise. INTERNAL keeps its text private. */
export function toTRPCError(cause: unknown): TRPCError | undefined {
  if (!(cause instanceof DbError)) return undefined;
  const code = CODE[cause.code];
  return new TRPCError({
    code,
    message: code === "INTERNAL_SERVER_ERROR" ? "internal error" : cause.message,
    cause,
  });
}
