import "~/server/only";

import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";

import { findApiKeyUser } from "@likewise/db";

import { apiKeyFromHeaders, hashApiKey } from "./api-keys";
import { toTRPCError } from "./api/errors";
import { createCaller } from "./api/root";
import { getDb } from "./db";
import { jsonError } from "./http";
import { RateLimitedError, retryAfterSeconds } from "./rate-limit";
import { clientIp, getLimits, getServices } from "./runtime";

export const API_VERSION = 1;

type Caller = ReturnType<typeof createCaller>;

/** How long a client should wait before retrying when the database is unavailable (restart, failover). */
const UNAVAILABLE_RETRY_AFTER_S = 1;
/**
 * A request still waiting for the database after this long is answered 503 + Retry-After instead of hanging (a
 * connection caught in a server restart can stall). Its statement may still commit: votes are safe to retry with
 * the same request id.
 */
const DATABASE_DEADLINE_MS = 8_000;

class DeadlineError extends Error {}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_res, rej) => {
    timer = setTimeout(() => rej(new DeadlineError(`no answer from the database within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * The public feedback API (docs/api.md): a key identifies the account it was issued for, and the request runs
 * through the same tRPC procedures as the web app (same validation, limits and errors), answered as plain JSON.
 * Every failure is a JSON error: 4xx for the client's mistakes, 429/503 with Retry-After when a retry will work.
 */
export async function withApiKey(
  headers: Headers,
  run: (caller: Caller) => Promise<unknown>,
): Promise<Response> {
  try {
    return await withDeadline(authenticateAndRun(headers, run), DATABASE_DEADLINE_MS);
  } catch (e) {
    return errorResponse(e);
  }
}

async function authenticateAndRun(
  headers: Headers,
  run: (caller: Caller) => Promise<unknown>,
): Promise<Response> {
  const key = apiKeyFromHeaders(headers);
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
    const s = retryAfterSeconds(limit.retryAfterMs);
    return jsonError(429, "TOO_MANY_REQUESTS", `rate limit; retry in ${s} s`, { "retry-after": String(s) });
  }
  const caller = createCaller({
    db,
    viewer: { id: found.userId, email: found.email, role: found.role },
    ip: clientIp(headers),
    limits: getLimits(),
    services: getServices(),
  });
  const data = await run(caller);
  return Response.json(
    { apiVersion: API_VERSION, ...(data as object) },
    { headers: { "cache-control": "no-store" } },
  );
}

/** A thrown error → the API's JSON error (tRPC errors keep their code; database errors are mapped first). */
export function errorResponse(e: unknown): Response {
  const err =
    e instanceof TRPCError
      ? e
      : e instanceof DeadlineError
        ? new TRPCError({ code: "SERVICE_UNAVAILABLE", message: e.message, cause: e })
        : (toTRPCError(e) ??
          new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "internal error", cause: e }));
  const status = getHTTPStatusCodeFromError(err);
  const headers: Record<string, string> = {};
  if (err.code === "TOO_MANY_REQUESTS" && err.cause instanceof RateLimitedError)
    headers["retry-after"] = String(retryAfterSeconds(err.cause.retryAfterMs));
  if (err.code === "SERVICE_UNAVAILABLE") {
    headers["retry-after"] = String(UNAVAILABLE_RETRY_AFTER_S);
    return jsonError(status, err.code, "the database is unavailable; retry shortly", headers);
  }
  if (status >= 500) {
    console.error("[api/v1]", err.cause ?? err);
    return jsonError(status, err.code, "internal error", headers);
  }
  return jsonError(
    status,
    err.code,
    err.code === "BAD_REQUEST" && err.cause ? (zodMessage(err.cause) ?? err.message) : err.message,
    headers,
  );
}

function zodMessage(cause: unknown): string | null {
  if (typeof cause === "object" && cause !== null && "issues" in cause && Array.isArray(cause.issues)) {
    return (cause.issues as { path: PropertyKey[]; message: string }[])
      .map((i) => `${i.path.map(String).join(".") || "body"}: ${i.message}`)
      .join("; ");
  }
  return null;
}

/** JSON text → value, or a 400 response. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return jsonError(400, "BAD_REQUEST", "the body must be JSON");
  }
}
