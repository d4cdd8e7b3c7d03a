import { sql } from "drizzle-orm";
import { check, index, pgTable } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { modelVersion } from "./model-version.ts";
import { generationStatus } from "./pg-enums.ts";
import { prompt } from "./prompt.ts";

const tz = { withTimezone: true, mode: "date" } as const;

/**
 * An on-demand generation (a user typed a prompt). The row is the request's state; the job queue only wakes a
 * worker, so a lost job is re-sent from the row. Image i of the request uses seed `seed + i`.
 */
export const generationRequest = pgTable(
  "generation_request",
  (t) => ({
    id: t.uuid().primaryKey().defaultRandom(),
    userId: t.uuid().references(() => user.id, { onDelete: "cascade" }),
    promptId: t
      .uuid()
      .notNull()
      .references(() => prompt.id, { onDelete: "restrict" }),
    /** The version asked for (an experiment variant's); null = whatever is production when it runs. */
    requestedModelVersionId: t.text().references(() => modelVersion.id, { onDelete: "restrict" }),
    /** The version that produced the images. */
    modelVersionId: t.text().references(() => modelVersion.id, { onDelete: "restrict" }),
    count: t.integer().notNull(),
    seed: t.bigint({ mode: "number" }).notNull(),
    steps: t.integer().notNull(),
    guidance: t.doublePrecision().notNull(),
    status: generationStatus().notNull().default("queued"),
    /** 0–1 while running (sampling steps done / total). */
    progress: t.doublePrecision().notNull().default(0),
    imageIds: t
      .uuid()
      .array()
      .notNull()
      .default(sql`'{}'::uuid[]`),
    error: t.text(),
    attempts: t.integer().notNull().default(0),
    workerId: t.text(),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
    startedAt: t.timestamp(tz),
    finishedAt: t.timestamp(tz),
    updatedAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    check("generation_request_count_range", sql`${table.count} between 1 and 16`),
    check("generation_request_seed_range", sql`${table.seed} >= 0`),
    check("generation_request_steps_range", sql`${table.steps} between 1 and 1000`),
    check("generation_request_guidance_range", sql`${table.guidance} >= 0 and ${table.guidance} <= 100`),
    check("generation_request_progress_range", sql`${table.progress} >= 0 and ${table.progress} <= 1`),
    check(
      "generation_request_failed_has_error",
      sql`${table.status} <> 'failed' or ${table.error} is not null`,
    ),
    check(
      "generation_request_done_has_images",
      sql`${table.status} <> 'done' or (cardinality(${table.imageIds}) = ${table.count} and ${table.modelVersionId} is not null)`,
    ),
    check(
      "generation_request_finished_at",
      sql`(${table.status} in ('done', 'failed')) = (${table.finishedAt} is not null)`,
    ),
    index("generation_request_status_idx").on(table.status, table.createdAt),
    index("generation_request_user_idx").on(table.userId, table.createdAt),
  ],
);
