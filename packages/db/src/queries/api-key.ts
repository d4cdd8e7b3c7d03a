// Public feedback API keys: only a sha256 of the key is stored; a key acts as the user it was issued for.
import { and, desc, eq, isNull, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import type { UserRole } from "../enums.ts";
import { NotFoundError, withDbErrors } from "../errors.ts";
import { user } from "../schema/auth.ts";
import { apiKey } from "../schema/web.ts";
import { mustExist } from "./util.ts";

export type ApiKey = typeof apiKey.$inferSelect;
export type ApiKeyListItem = Omit<ApiKey, "keyHash"> & { userEmail: string };

/** Stores a new key's hash. CONFLICT if the hash exists (a duplicate key); NOT_FOUND for an unknown user. */
export async function createApiKey(
  db: DbOrTx,
  input: { name: string; prefix: string; keyHash: string; userId: string; createdBy?: string | null },
): Promise<Omit<ApiKey, "keyHash">> {
  return withDbErrors(async () => {
    const [row] = await db
      .insert(apiKey)
      .values({ ...input, name: input.name.trim(), createdBy: input.createdBy ?? null })
      .returning();
    const { keyHash: _hash, ...rest } = mustExist(row, "api_key");
    return rest;
  });
}

export async function listApiKeys(db: DbOrTx): Promise<ApiKeyListItem[]> {
  return withDbErrors(async () => {
    const rows = await db
      .select({ key: apiKey, userEmail: user.email })
      .from(apiKey)
      .innerJoin(user, eq(user.id, apiKey.userId))
      .orderBy(desc(apiKey.createdAt), desc(apiKey.id));
    return rows.map(({ key: { keyHash: _hash, ...rest }, userEmail }) => ({ ...rest, userEmail }));
  });
}

/** Revokes a key (idempotent: the first revocation time is kept). NOT_FOUND for an unknown id. */
export async function revokeApiKey(db: DbOrTx, input: { id: string }): Promise<Omit<ApiKey, "keyHash">> {
  return withDbErrors(async () => {
    const [row] = await db
      .update(apiKey)
      .set({ revokedAt: sql`coalesce(${apiKey.revokedAt}, now())` })
      .where(eq(apiKey.id, input.id))
      .returning();
    if (!row) throw new NotFoundError(`api key ${input.id} not found`, { table: "api_key" });
    const { keyHash: _hash, ...rest } = row;
    return rest;
  });
}

/**
 * The account behind a live key, or null (unknown, revoked, or its user blocked), in one query: the public API's
 * whole authentication. Marks the key used, at most once a minute, so the admin list shows when a key was last seen.
 */
export async function findApiKeyUser(
  db: DbOrTx,
  input: { keyHash: string },
): Promise<{ keyId: string; userId: string; email: string; role: UserRole } | null> {
  return withDbErrors(async () => {
    const [row] = await db
      .select({
        keyId: apiKey.id,
        userId: user.id,
        email: user.email,
        role: user.role,
        lastUsedAt: apiKey.lastUsedAt,
      })
      .from(apiKey)
      .innerJoin(user, eq(user.id, apiKey.userId))
      .where(and(eq(apiKey.keyHash, input.keyHash), isNull(apiKey.revokedAt), isNull(user.blockedAt)));
    if (!row) return null;
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
      await db
        .update(apiKey)
        .set({ lastUsedAt: sql`now()` })
        .where(eq(apiKey.id, row.keyId));
    }
    return { keyId: row.keyId, userId: row.userId, email: row.email, role: row.role };
  });
}
