import "~/server/only";

import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError, z } from "zod";

import type { UserRole } from "@likewise/db/enums";

import { roleAtLeast } from "~/lib/roles";

import type { TrpcContext } from "./context";
import { toTRPCError } from "./errors";

export { enforceLimit } from "../rate-limit";

/** Who may call a procedure. `rater` = any signed-in user; `analyst` = analysts and admins. */
export type Access = "public" | UserRole;
export type ProcedureMeta = { access: Access };

const t = initTRPC
  .context<TrpcContext>()
  .meta<ProcedureMeta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error }) {
      const zod = error.cause instanceof ZodError ? z.flattenError(error.cause) : null;
      // Unknown failures never leak their text to the client.
      const message = error.code === "INTERNAL_SERVER_ERROR" ? "internal error" : shape.message;
      return { ...shape, message, data: { ...shape.data, stack: undefined, zodError: zod } };
    },
  });

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

// Domain errors (DbError) become typed tRPC errors in one place.
const mapDomainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  const mapped = result.ok ? undefined : toTRPCError(result.error.cause);
  if (mapped) throw mapped;
  return result;
});

const base = t.procedure.use(mapDomainErrors);

function requireRole(min: UserRole) {
  return t.middleware(({ ctx, next }) => {
    if (!ctx.viewer) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
    if (!roleAtLeast(ctx.viewer.role, min))
      throw new TRPCError({ code: "FORBIDDEN", message: `requires the ${min} role` });
    return next({ ctx: { ...ctx, viewer: ctx.viewer } });
  });
}

export const publicProcedure = base.meta({ access: "public" });
export const raterProcedure = base.meta({ access: "rater" }).use(requireRole("rater"));
export const analystProcedure = base.meta({ access: "analyst" }).use(requireRole("analyst"));
export const adminProcedure = base.meta({ access: "admin" }).use(requireRole("admin"));
