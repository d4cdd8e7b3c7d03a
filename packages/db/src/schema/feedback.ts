import { sql } from "drizzle-orm";
import { check, foreignKey, index, pgTable, primaryKey } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { experiment, variant } from "./experiment.ts";
import { image } from "./image.ts";
import { feedbackEventValue, voteValue } from "./pg-enums.ts";
import { alignmentRound } from "./round.ts";

const tz = { withTimezone: true, mode: "date" } as const;

/** Append-only log of every vote change; its id is the label id a round's manifest lists. */
export const feedbackEvent = pgTable(
  "feedback_event",
  (t) => ({
    id: t.bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    userId: t
      .uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    imageId: t
      .uuid()
      .notNull()
      .references(() => image.id, { onDelete: "cascade" }),
    /** null = there was no vote before. */
    oldValue: voteValue(),
    newValue: feedbackEventValue().notNull(),
    at: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    check("feedback_event_changes", sql`${table.oldValue}::text is distinct from ${table.newValue}::text`),
    check(
      "feedback_event_clears_something",
      sql`${table.newValue} <> 'cleared' or ${table.oldValue} is not null`,
    ),
    index("feedback_event_user_image_idx").on(table.userId, table.imageId, table.id),
    index("feedback_event_image_idx").on(table.imageId),
    index("feedback_event_at_idx").on(table.at),
  ],
);

/**
 * The current vote per (user, image). `roundId` is the claim: null = in the label pool; set = claimed by
 * (or, once that round published, consumed by) that round. A cleared vote is deleted (the event stays).
 */
export const vote = pgTable(
  "vote",
  (t) => ({
    userId: t
      .uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    imageId: t
      .uuid()
      .notNull()
      .references(() => image.id, { onDelete: "cascade" }),
    value: voteValue().notNull(),
    // NO ACTION (checked at statement end) so a user/image cascade can remove votes and events together.
    eventId: t
      .bigint({ mode: "number" })
      .notNull()
      .references(() => feedbackEvent.id, { onDelete: "no action" }),
    // Deleting a round returns its claims to the pool.
    roundId: t.uuid().references(() => alignmentRound.id, { onDelete: "set null" }),
    claimedAt: t.timestamp(tz),
    createdAt: t.timestamp(tz).notNull().defaultNow(),
    updatedAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    primaryKey({ columns: [table.userId, table.imageId] }),
    check("vote_claim_consistent", sql`(${table.roundId} is null) = (${table.claimedAt} is null)`),
    // Drain hot path: the unclaimed pool in label order.
    index("vote_pool_idx")
      .on(table.eventId)
      .where(sql`${table.roundId} is null`),
    index("vote_round_id_idx")
      .on(table.roundId)
      .where(sql`${table.roundId} is not null`),
    index("vote_image_id_idx").on(table.imageId),
    // "My votes", most recently changed first.
    index("vote_user_event_idx").on(table.userId, table.eventId),
    index("vote_event_id_idx").on(table.eventId),
  ],
);

/** An image actually shown to a user, under the experiment variant that chose it (if any). */
export const exposure = pgTable(
  "exposure",
  (t) => ({
    id: t.bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    userId: t
      .uuid()
      .notNull()
      .references(() => user.id, { onDelete: "cascade" }),
    imageId: t
      .uuid()
      .notNull()
      .references(() => image.id, { onDelete: "cascade" }),
    experimentId: t.uuid().references(() => experiment.id, { onDelete: "cascade" }),
    variantId: t.uuid(),
    shownAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    // The variant must belong to the experiment.
    foreignKey({
      name: "exposure_variant_fk",
      columns: [table.variantId, table.experimentId],
      foreignColumns: [variant.id, variant.experimentId],
    }).onDelete("cascade"),
    check(
      "exposure_variant_with_experiment",
      sql`(${table.experimentId} is null) = (${table.variantId} is null)`,
    ),
    index("exposure_user_shown_idx").on(table.userId, table.shownAt),
    index("exposure_image_idx").on(table.imageId),
    index("exposure_variant_shown_idx")
      .on(table.experimentId, table.variantId, table.shownAt)
      .where(sql`${table.experimentId} is not null`),
  ],
);
