import "~/server/only";

import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";

import { toTRPCError } from "./api/errors";
import { jsonError } from "./http";
import { RateLimitedError, retryAfterSeconds } from "./rate-limit";

// The public API's answers (docs/api.md), shared by the tRPC-backed routes (public-api.ts) and the vote ingestion
// path that runs outside Next (vote-ingest.ts): every failure is a JSON error, 4xx for the client's mistakes,
// 429/503 with Retry-After when a retry will work.

export const API_VERSION = 1;

/** How long a client should wait before retrying when the database is unavailable (restart, failover). */
const UNAVAILABLE_RETRY_AFTER_S = 1;
/**
 * A request still waiting for the database after this long is answered 503 + Retry-After instead of hanging (a
 * connection caught in a server restart can stall). Its statement may still commit: votes are safe to retry with
 * the same request id.
 */
export const DATABASE_DEADLINE_MS = 8_000;

export class DeadlineError extends Error {}

export function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_res, rej) => {
    timer = setTimeout(() => rej(new DeadlineError(`no answer from the database within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
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

export const missingKey = () =>
  jsonError(401, "UNAUTHORIZED", "send an API key: Authorization: Bearer lw_…", {
    "www-authenticate": "Bearer",
  });

export const unknownKey = () =>
  jsonError(401, "UNAUTHORIZED", "unknown or revoked API key", { "www-authenticate": "Bearer" });

/** 429 for a key over the API's per-key budget. */
export function keyRateLimited(retryAfterMs: number): Response {
  const s = retryAfterSeconds(retryAfterMs);
  return jsonError(429, "TOO_MANY_REQUESTS", `rate limit; retry in ${s} s`, { "retry-after": String(s) });
}
