import { sql } from "drizzle-orm";
import { check, index, pgTable } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { modelVersion } from "./model-version.ts";
import { prompt } from "./prompt.ts";

const tz = { withTimezone: true, mode: "date" } as const;

/** A generated image with full lineage. Images are hidden, not deleted, once anyone has rated them. */
export const image = pgTable(
  "image",
  (t) => ({
    id: t.uuid().primaryKey().defaultRandom(),
    promptId: t
      .uuid()
      .notNull()
      .references(() => prompt.id, { onDelete: "restrict" }),
    modelVersionId: t
      .text()
      .notNull()
      .references(() => modelVersion.id, { onDelete: "restrict" }),
    seed: t.bigint({ mode: "number" }).notNull(),
    sampler: t.text().notNull(),
    steps: t.integer().notNull(),
    guidance: t.doublePrecision().notNull(),
    eta: t.doublePrecision().notNull().default(0),
    /** sha256 of the PNG: the content-addressed key in the blob store. */
    blobKey: t.text().notNull(),
    width: t.integer().notNull(),
    height: t.integer().notNull(),
    isHidden: t.boolean().notNull().default(false),
    hiddenAt: t.timestamp(tz),
    hiddenBy: t.uuid().references(() => user.id, { onDelete: "set null" }),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    check("image_seed_range", sql`${table.seed} >= 0`),
    check("image_sampler_shape", sql`${table.sampler} ~ '^[a-z0-9_+-]{1,32}$'`),
    check("image_steps_positive", sql`${table.steps} > 0 and ${table.steps} <= 10000`),
    check("image_guidance_range", sql`${table.guidance} >= 0 and ${table.guidance} <= 100`),
    check("image_eta_range", sql`${table.eta} >= 0 and ${table.eta} <= 1`),
    check("image_blob_key_sha256", sql`${table.blobKey} ~ '^[0-9a-f]{64}$'`),
    check(
      "image_size_positive",
      sql`${table.width} > 0 and ${table.height} > 0 and ${table.width} <= 4096 and ${table.height} <= 4096`,
    ),
    // Feed hot path: visible images of one model version, newest first.
    index("image_feed_idx")
      .on(table.modelVersionId, table.createdAt)
      .where(sql`not ${table.isHidden}`),
    index("image_prompt_id_idx").on(table.promptId),
    index("image_blob_key_idx").on(table.blobKey),
  ],
);
