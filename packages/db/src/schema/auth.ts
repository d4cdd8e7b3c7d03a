// Users plus the Auth.js (next-auth / @auth/drizzle-adapter) tables, in the adapter's column shape.
import { sql } from "drizzle-orm";
import { check, index, pgTable, primaryKey, uniqueIndex } from "drizzle-orm/pg-core";

import { userRole } from "./pg-enums.ts";

const tz = { withTimezone: true, mode: "date" } as const;

export const user = pgTable(
  "user",
  (t) => ({
    id: t.uuid().primaryKey().defaultRandom(),
    name: t.text(),
    email: t.text().notNull(),
    emailVerified: t.timestamp(tz),
    image: t.text(),
    /** bcrypt/argon2 hash; null for OAuth-only accounts. */
    passwordHash: t.text(),
    role: userRole().notNull().default("rater"),
    trainingConsent: t.boolean().notNull().default(false),
    trainingConsentChangedAt: t.timestamp(tz),
    /** Moderation: this user's votes are never claimed for training (they still count as feedback). */
    excludedFromTraining: t.boolean().notNull().default(false),
    excludedFromTrainingAt: t.timestamp(tz),
    blockedAt: t.timestamp(tz),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
    updatedAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    // Case-insensitive uniqueness; verbs also store emails lower-cased.
    uniqueIndex("user_email_lower_key").on(sql`lower(${table.email})`),
    check("user_email_shape", sql`${table.email} ~ '^[^@\\s]+@[^@\\s]+$' and length(${table.email}) <= 320`),
    check("user_name_length", sql`${table.name} is null or length(${table.name}) <= 200`),
  ],
);

export const account = pgTable(
  "account",
  (t) => ({
    userId: t
      .uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    type: t.text().notNull(),
    provider: t.text().notNull(),
    providerAccountId: t.text().notNull(),
    refresh_token: t.text(),
    access_token: t.text(),
    expires_at: t.integer(),
    token_type: t.text(),
    scope: t.text(),
    id_token: t.text(),
    session_state: t.text(),
  }),
  (table) => [
    primaryKey({ columns: [table.provider, table.providerAccountId] }),
    index("account_user_id_idx").on(table.userId),
  ],
);

export const session = pgTable(
  "session",
  (t) => ({
    sessionToken: t.text().primaryKey(),
    userId: t
      .uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    expires: t.timestamp(tz).notNull(),
  }),
  (table) => [index("session_user_id_idx").on(table.userId)],
);

export const verificationToken = pgTable(
  "verification_token",
  (t) => ({
    identifier: t.text().notNull(),
    token: t.text().notNull(),
    expires: t.timestamp(tz).notNull(),
  }),
  (table) => [primaryKey({ columns: [table.identifier, table.token] })],
);
