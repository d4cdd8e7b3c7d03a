import { sql } from "drizzle-orm";
import { type AnyPgColumn, check, index, pgTable, primaryKey, uniqueIndex } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { feedbackEvent } from "./feedback.ts";
import { modelVersion } from "./model-version.ts";
import { promotionPolicy, roundStatus, roundTrigger, voteValue } from "./pg-enums.ts";

const tz = { withTimezone: true, mode: "date" } as const;

export const schedule = pgTable(
  "schedule",
  (t) => ({
    id: t.uuid().primaryKey().defaultRandom(),
    name: t.text().notNull(),
    /** Five-field cron; null for a purely data-triggered schedule. */
    cron: t.text(),
    timezone: t.text().notNull().default("UTC"),
    isDataTriggered: t.boolean().notNull().default(false),
    minNewLabels: t.integer().notNull().default(0),
    /** Allowed share of desirable (liked) labels among the new ones, inclusive. */
    classBalanceMin: t.doublePrecision().notNull().default(0),
    classBalanceMax: t.doublePrecision().notNull().default(1),
    roundConfig: t.jsonb().$type<Record<string, unknown>>().notNull().default({}),
    promotionPolicy: promotionPolicy().notNull().default("none"),
    /** Traffic share of the experiment a published candidate starts (policy "experiment"). */
    experimentTrafficPercent: t.smallint(),
    isEnabled: t.boolean().notNull().default(true),
    lastTriggeredAt: t.timestamp(tz),
    createdBy: t.uuid().references(() => user.id, { onDelete: "set null" }),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
    updatedAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    uniqueIndex("schedule_name_key").on(table.name),
    check("schedule_has_trigger", sql`${table.cron} is not null or ${table.isDataTriggered}`),
    check("schedule_cron_shape", sql`${table.cron} is null or ${table.cron} ~ '^\\S+(\\s+\\S+){4,5}$'`),
    check("schedule_min_new_labels", sql`${table.minNewLabels} >= 0`),
    check(
      "schedule_class_balance_band",
      sql`0 <= ${table.classBalanceMin} and ${table.classBalanceMin} <= ${table.classBalanceMax} and ${table.classBalanceMax} <= 1`,
    ),
    check(
      "schedule_experiment_traffic",
      sql`(${table.promotionPolicy} = 'experiment') = (${table.experimentTrafficPercent} is not null)
        and (${table.experimentTrafficPercent} is null or ${table.experimentTrafficPercent} between 1 and 100)`,
    ),
  ],
);

/** One alignment round: a state machine persisted in its row (see ROUND_TRANSITIONS in enums.ts). */
export const alignmentRound = pgTable(
  "alignment_round",
  (t) => ({
    id: t.uuid().primaryKey().defaultRandom(),
    status: roundStatus().notNull().default("queued"),
    trigger: roundTrigger().notNull(),
    scheduleId: t.uuid().references(() => schedule.id, { onDelete: "set null" }),
    parentModelVersionId: t
      .text()
      .notNull()
      .references((): AnyPgColumn => modelVersion.id, { onDelete: "restrict" }),
    candidateModelVersionId: t
      .text()
      .references((): AnyPgColumn => modelVersion.id, { onDelete: "restrict" }),
    objectiveConfig: t.jsonb().$type<Record<string, unknown>>().notNull().default({}),
    labelCountDesirable: t.integer().notNull().default(0),
    labelCountUndesirable: t.integer().notNull().default(0),
    /** sha256 of the frozen label manifest (see claimLabelsForRound). */
    manifestSha256: t.text(),
    progress: t.jsonb().$type<Record<string, unknown>>().notNull().default({}),
    metrics: t.jsonb().$type<Record<string, unknown>>().notNull().default({}),
    error: t.text(),
    workerId: t.text(),
    heartbeatAt: t.timestamp(tz),
    requestedBy: t.uuid().references(() => user.id, { onDelete: "set null" }),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
    startedAt: t.timestamp(tz),
    finishedAt: t.timestamp(tz),
    labelsReleasedAt: t.timestamp(tz),
    updatedAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    check(
      "alignment_round_label_counts",
      sql`${table.labelCountDesirable} >= 0 and ${table.labelCountUndesirable} >= 0`,
    ),
    check(
      "alignment_round_manifest_sha256",
      sql`${table.manifestSha256} is null or ${table.manifestSha256} ~ '^[0-9a-f]{64}$'`,
    ),
    check(
      "alignment_round_finished_iff_terminal",
      sql`(${table.finishedAt} is not null) = (${table.status} in ('published', 'rejected', 'failed', 'canceled'))`,
    ),
    check(
      "alignment_round_published_has_candidate",
      sql`${table.status} <> 'published' or ${table.candidateModelVersionId} is not null`,
    ),
    check("alignment_round_failed_has_error", sql`${table.status} <> 'failed' or ${table.error} is not null`),
    // The training pipeline runs one round at a time; draining may overlap (claims are SKIP LOCKED-safe).
    uniqueIndex("alignment_round_one_running")
      .on(sql`(true)`)
      .where(sql`${table.status} in ('training', 'exporting', 'evaluating')`),
    index("alignment_round_status_created_idx").on(table.status, table.createdAt),
    index("alignment_round_schedule_idx").on(table.scheduleId),
    index("alignment_round_parent_idx").on(table.parentModelVersionId),
  ],
);

/**
 * The frozen manifest of a round: one row per claimed label, copied at claim time so later vote changes never
 * rewrite what a round trained on. Kept after a release (history); `alignment_round.labels_released_at` says so.
 */
export const roundLabel = pgTable(
  "round_label",
  (t) => ({
    roundId: t
      .uuid()
      .notNull()
      .references(() => alignmentRound.id, { onDelete: "cascade" }),
    // NO ACTION: deleting a user or image whose labels a round used fails rather than rewriting the manifest.
    eventId: t
      .bigint({ mode: "number" })
      .notNull()
      .references(() => feedbackEvent.id, { onDelete: "no action" }),
    userId: t.uuid().notNull(),
    imageId: t.uuid().notNull(),
    modelVersionId: t.text().notNull(),
    value: voteValue().notNull(),
  }),
  (table) => [
    primaryKey({ columns: [table.roundId, table.eventId] }),
    index("round_label_event_idx").on(table.eventId),
    // The claim's "does this repeat the pair's latest manifest entry?" lookup.
    index("round_label_pair_idx").on(table.userId, table.imageId, table.eventId),
  ],
);
