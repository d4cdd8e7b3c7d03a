// Tables the web app needs beyond the core model: vote request ids (idempotent retries) and public-API keys.
import { sql } from "drizzle-orm";
import { check, index, pgTable, primaryKey, uniqueIndex } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { image } from "./image.ts";
import { feedbackEventValue } from "./pg-enums.ts";

const tz = { withTimezone: true, mode: "date" } as const;

/**
 * One row per client-generated vote request id, written in the same transaction as the vote: a retried or
 * double-submitted request finds its row and changes nothing, even after a later vote on the same image.
 */
export const voteRequest = pgTable(
  "vote_request",
  (t) => ({
    userId: t
      .uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    requestId: t.uuid().notNull(),
    imageId: t
      .uuid()
      .notNull()
      .references(() => image.id, { onDelete: "cascade" }),
    value: feedbackEventValue().notNull(),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    primaryKey({ columns: [table.userId, table.requestId] }),
    index("vote_request_created_idx").on(table.createdAt),
  ],
);

/** Public feedback API keys. Only the sha256 of the key is stored; the key acts as `user_id`. */
export const apiKey = pgTable(
  "api_key",
  (t) => ({
    id: t.uuid().primaryKey().defaultRandom(),
    name: t.text().notNull(),
    /** The key's first characters, shown in the admin list so a key can be recognised. */
    prefix: t.text().notNull(),
    keyHash: t.text().notNull(),
    userId: t
      .uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    createdBy: t.uuid().references(() => user.id, { onDelete: "set null" }),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
    lastUsedAt: t.timestamp(tz),
    revokedAt: t.timestamp(tz),
  }),
  (table) => [
    uniqueIndex("api_key_hash_key").on(table.keyHash),
    check("api_key_hash_sha256", sql`${table.keyHash} ~ '^[0-9a-f]{64}$'`),
    check("api_key_name_length", sql`length(btrim(${table.name})) between 1 and 100`),
  ],
);
