import "server-only";

import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";

import { findApiKeyUser, getUser } from "@likewise/db";

import { apiKeyFromHeaders, hashApiKey } from "./api-keys";
import { createCaller } from "./api/root";
import { getDb } from "./db";
import { jsonError } from "./http";
import { clientIp, getLimits, getServices } from "./runtime";

export const API_VERSION = 1;

type Caller = ReturnType<typeof createCaller>;

/**
 * The public feedback API (docs/api.md): a key identifies the account it was issued for, and the request runs
 * through the same tRPC procedures as the web app (same validation, limits and errors), answered as plain JSON.
 */
export async function withApiKey(req: Request, run: (caller: Caller) => Promise<unknown>): Promise<Response> {
  const key = apiKeyFromHeaders(req.headers);
  if (!key)
    return jsonError(401, "UNAUTHORIZED", "send an API key: Authorization: Bearer lw_…", {
      "www-authenticate": "Bearer",
    });
  const { db } = getDb();
  const found = await findApiKeyUser(db, { keyHash: hashApiKey(key) });
  if (!found)
    return jsonError(401, "UNAUTHORIZED", "unknown or revoked API key", { "www-authenticate": "Bearer" });
  const limit = getLimits().api.take(`key:${found.keyId}`);
  if (!limit.ok) {
    const s = Math.ceil(limit.retryAfterMs / 1000);
    return jsonError(429, "TOO_MANY_REQUESTS", `rate limit; retry in ${s} s`, { "retry-after": String(s) });
  }
  const user = await getUser(db, found.userId);
  const caller = createCaller({
    db,
    viewer: { id: user.id, email: user.email, role: user.role },
    ip: clientIp(req.headers),
    limits: getLimits(),
    services: getServices(),
  });
  try {
    const data = await run(caller);
    return Response.json(
      { apiVersion: API_VERSION, ...(data as object) },
      { headers: { "cache-control": "no-store" } },
    );
  } catch (e) {
    if (e instanceof TRPCError) {
      const status = getHTTPStatusCodeFromError(e);
      const message = e.code === "INTERNAL_SERVER_ERROR" ? "internal error" : e.message;
      if (status >= 500) console.error("[api/v1]", e.cause ?? e);
      return jsonError(
        status,
        e.code,
        e.code === "BAD_REQUEST" && e.cause ? (zodMessage(e.cause) ?? message) : message,
      );
    }
    throw e;
  }
}

function zodMessage(cause: unknown): string | null {
  if (typeof cause === "object" && cause !== null && "issues" in cause && Array.isArray(cause.issues)) {
    return (cause.issues as { path: PropertyKey[]; message: string }[])
      .map((i) => `${i.path.map(String).join(".") || "body"}: ${i.message}`)
      .join("; ");
  }
  return null;
}

/** JSON body → value, or a 400/413 response. */
export async function readJson(
  req: Request,
  read: (req: Request) => Promise<string | Response>,
): Promise<unknown> {
  const body = await read(req);
  if (body instanceof Response) return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return jsonError(400, "BAD_REQUEST", "the body must be JSON");
  }
}
