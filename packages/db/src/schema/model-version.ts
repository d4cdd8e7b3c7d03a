import { sql } from "drizzle-orm";
import { type AnyPgColumn, check, index, pgTable } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { aliasMoveKind, modelAliasName, modelVersionStatus } from "./pg-enums.ts";
import { alignmentRound } from "./round.ts";

const tz = { withTimezone: true, mode: "date" } as const;

export const modelVersion = pgTable(
  "model_version",
  (t) => ({
    // Text so a shipped base model can carry a readable id; it names the artifact folder, hence the CHECK.
    id: t
      .text()
      .primaryKey()
      .default(sql`gen_random_uuid()::text`),
    family: t.text().notNull(),
    // Lineage is never rewritten: a version with children cannot be deleted.
    parentId: t.text().references((): AnyPgColumn => modelVersion.id, { onDelete: "restrict" }),
    status: modelVersionStatus().notNull().default("candidate"),
    artifactUri: t.text().notNull(),
    sha256: t.text().notNull(),
    metrics: t.jsonb().$type<Record<string, unknown>>().notNull().default({}),
    manifest: t.jsonb().$type<Record<string, unknown>>().notNull().default({}),
    /** The alignment round that produced this version; null for base models. */
    roundId: t.uuid().references((): AnyPgColumn => alignmentRound.id, { onDelete: "restrict" }),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
    updatedAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    check("model_version_id_shape", sql`${table.id} ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'`),
    check("model_version_family_shape", sql`${table.family} ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'`),
    check("model_version_sha256_hex", sql`${table.sha256} ~ '^[0-9a-f]{64}$'`),
    check("model_version_not_own_parent", sql`${table.parentId} is distinct from ${table.id}`),
    index("model_version_parent_id_idx").on(table.parentId),
    index("model_version_round_id_idx").on(table.roundId),
    index("model_version_family_created_idx").on(table.family, table.createdAt),
  ],
);

/** Named pointers (`production`) to one version each; the primary key makes "exactly one production" structural. */
export const modelAlias = pgTable("model_alias", (t) => ({
  name: modelAliasName().primaryKey(),
  modelVersionId: t
    .text()
    .notNull()
    .references(() => modelVersion.id, { onDelete: "restrict" }),
  movedAt: t.timestamp(tz).notNull().defaultNow(),
  movedBy: t.uuid().references(() => user.id, { onDelete: "set null" }),
}));

/** Append-only audit of every alias move: who, when, why, from where to where. */
export const modelAliasEvent = pgTable(
  "model_alias_event",
  (t) => ({
    id: t.bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    alias: modelAliasName().notNull(),
    kind: aliasMoveKind().notNull(),
    fromModelVersionId: t.text().references(() => modelVersion.id, { onDelete: "restrict" }),
    toModelVersionId: t
      .text()
      .notNull()
      .references(() => modelVersion.id, { onDelete: "restrict" }),
    actorId: t.uuid().references(() => user.id, { onDelete: "set null" }),
    reason: t.text(),
    at: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    index("model_alias_event_alias_at_idx").on(table.alias, table.at),
    check(
      "model_alias_event_moves",
      sql`${table.fromModelVersionId} is distinct from ${table.toModelVersionId}`,
    ),
  ],
);
