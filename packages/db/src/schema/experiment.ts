import { sql } from "drizzle-orm";
import { check, foreignKey, index, pgTable, primaryKey, unique, uniqueIndex } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { modelVersion } from "./model-version.ts";
import { experimentStatus } from "./pg-enums.ts";

const tz = { withTimezone: true, mode: "date" } as const;

export const experiment = pgTable(
  "experiment",
  (t) => ({
    id: t.uuid().primaryKey().defaultRandom(),
    name: t.text().notNull(),
    hypothesis: t.text().notNull().default(""),
    status: experimentStatus().notNull().default("draft"),
    /** Share of raters in the experiment; the rest get production. */
    populationPercent: t.doublePrecision().notNull().default(100),
    /**
     * Where its slice [offset, offset + percent) of the shared population hash space begins: experiments whose
     * slices do not overlap are mutually exclusive and may run at the same time (exclusion constraint, 0010).
     */
    populationOffset: t.doublePrecision().notNull().default(0),
    primaryMetric: t.text().notNull().default("like_rate_per_vote"),
    guardrails: t.jsonb().$type<unknown[]>().notNull().default([]),
    minSamplePerVariant: t.integer().notNull().default(0),
    minDurationSeconds: t.integer().notNull().default(0),
    decisionRule: t.jsonb().$type<Record<string, unknown>>().notNull().default({}),
    /** Hash salt for deterministic bucketing; fixed at creation so assignments are reproducible. */
    salt: t
      .text()
      .notNull()
      .default(sql`substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)`),
    decision: t.jsonb().$type<Record<string, unknown>>(),
    createdBy: t.uuid().references(() => user.id, { onDelete: "set null" }),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
    startedAt: t.timestamp(tz),
    stoppedAt: t.timestamp(tz),
    decidedAt: t.timestamp(tz),
    /** Last traffic-weight change while running: users assigned since then are checked against the new weights. */
    weightsChangedAt: t.timestamp(tz),
    /** Assignment phase: a new phase re-randomises everyone; metrics and the sample-ratio check are per phase. */
    phase: t.integer().notNull().default(1),
    phaseStartedAt: t.timestamp(tz),
    updatedAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    uniqueIndex("experiment_name_key").on(table.name),
    check(
      "experiment_population_percent",
      sql`${table.populationPercent} > 0 and ${table.populationPercent} <= 100`,
    ),
    check(
      "experiment_population_slice",
      sql`${table.populationOffset} >= 0 and ${table.populationOffset} + ${table.populationPercent} <= 100`,
    ),
    check("experiment_phase", sql`${table.phase} >= 1`),
    check("experiment_minimums", sql`${table.minSamplePerVariant} >= 0 and ${table.minDurationSeconds} >= 0`),
    check("experiment_started", sql`${table.status} = 'draft' or ${table.startedAt} is not null`),
    check(
      "experiment_stopped",
      sql`${table.status}::text in ('draft', 'starting', 'running') or ${table.stoppedAt} is not null`,
    ),
    index("experiment_status_idx").on(table.status),
  ],
);

export const variant = pgTable(
  "variant",
  (t) => ({
    id: t.uuid().primaryKey().defaultRandom(),
    experimentId: t
      .uuid()
      .notNull()
      .references(() => experiment.id, { onDelete: "cascade" }),
    name: t.text().notNull(),
    // Versions under test cannot be deleted; A/A tests may use one version twice.
    modelVersionId: t
      .text()
      .notNull()
      .references(() => modelVersion.id, { onDelete: "restrict" }),
    weight: t.doublePrecision().notNull(),
    isControl: t.boolean().notNull().default(false),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    unique("variant_experiment_name_key").on(table.experimentId, table.name),
    // Target of composite FKs that pin a variant to its experiment.
    unique("variant_id_experiment_key").on(table.id, table.experimentId),
    // At most one control per experiment; "at least one" is checked when the experiment starts.
    uniqueIndex("variant_one_control")
      .on(table.experimentId)
      .where(sql`${table.isControl}`),
    check(
      "variant_weight_nonnegative",
      sql`${table.weight} >= 0 and ${table.weight} <> 'NaN'::float8 and ${table.weight} <> 'Infinity'::float8`,
    ),
    index("variant_model_version_idx").on(table.modelVersionId),
  ],
);

/** Sticky assignment: the first variant a user was bucketed into, persisted at first exposure. */
export const assignment = pgTable(
  "assignment",
  (t) => ({
    experimentId: t
      .uuid()
      .notNull()
      .references(() => experiment.id, { onDelete: "cascade" }),
    userId: t
      .uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    /** The experiment's phase this assignment belongs to (a new phase assigns everyone afresh). */
    phase: t.integer().notNull().default(1),
    variantId: t.uuid().notNull(),
    firstExposedAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    primaryKey({ columns: [table.experimentId, table.phase, table.userId] }),
    foreignKey({
      name: "assignment_variant_fk",
      columns: [table.variantId, table.experimentId],
      foreignColumns: [variant.id, variant.experimentId],
    }).onDelete("cascade"),
    index("assignment_variant_idx").on(table.variantId),
    index("assignment_user_idx").on(table.userId),
  ],
);

export const EXPERIMENT_EVENT_KINDS = [
  "started",
  "weights",
  "phase",
  "stopped",
  "auto_stopped",
  "decided",
] as const;

/** Append-only audit of an experiment's lifecycle: who did what, why, with the numbers it was done on. */
export const experimentEvent = pgTable(
  "experiment_event",
  (t) => ({
    id: t.bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    experimentId: t
      .uuid()
      .notNull()
      .references(() => experiment.id, { onDelete: "cascade" }),
    kind: t.text({ enum: EXPERIMENT_EVENT_KINDS }).notNull(),
    /** Null for the system (a guardrail auto-stop, a round's policy). */
    actorId: t.uuid().references(() => user.id, { onDelete: "set null" }),
    reason: t.text().notNull().default(""),
    details: t.jsonb().$type<Record<string, unknown>>().notNull().default({}),
    at: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    index("experiment_event_experiment_at_idx").on(table.experimentId, table.at),
    check(
      "experiment_event_kind",
      sql`${table.kind} in ('started', 'weights', 'phase', 'stopped', 'auto_stopped', 'decided')`,
    ),
  ],
);
