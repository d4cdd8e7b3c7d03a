import "~/server/only";

import { findApiKeyUser } from "@likewise/db";

import { apiKeyFromHeaders, hashApiKey } from "./api-keys";
import { createCaller } from "./api/root";
import {
  API_VERSION,
  DATABASE_DEADLINE_MS,
  errorResponse,
  keyRateLimited,
  missingKey,
  unknownKey,
  withDeadline,
} from "./api-response";
import { getDb } from "./db";
import { clientIp, getLimits, getServices } from "./runtime";

type Caller = ReturnType<typeof createCaller>;

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
  if (!key) return missingKey();
  const { db } = getDb();
  const found = await findApiKeyUser(db, { keyHash: hashApiKey(key) });
  if (!found) return unknownKey();
  const limit = getLimits().api.take(`key:${found.keyId}`);
  if (!limit.ok) return keyRateLimited(limit.retryAfterMs);
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
