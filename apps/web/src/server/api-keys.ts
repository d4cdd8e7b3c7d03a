import "~/server/only";

import { createHash, randomBytes } from "node:crypto";

const KEY_RE = /^lw_[A-Za-z0-9_-]{43}$/;

/** A new key: "lw_" + 32 random bytes (base64url). Only the sha256 is stored. */
export function generateApiKey(): { key: string; prefix: string; keyHash: string } {
  const key = `lw_${randomBytes(32).toString("base64url")}`;
  return { key, prefix: key.slice(0, 10), keyHash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The key from `Authorization: Bearer <key>` (or `X-Api-Key`), or null when absent or malformed. */
export function apiKeyFromHeaders(headers: Headers): string | null {
  return apiKeyFrom(headers.get("authorization"), headers.get("x-api-key"));
}

/** The same from the two header values (as Node's IncomingMessage has them). */
export function apiKeyFrom(
  authorization: string | null | undefined,
  xApiKey: string | null | undefined,
): string | null {
  const key = authorization?.toLowerCase().startsWith("bearer ")
    ? authorization.slice(7).trim()
    : xApiKey?.trim();
  return key && KEY_RE.test(key) ? key : null;
}
