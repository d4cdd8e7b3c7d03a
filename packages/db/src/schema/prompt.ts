import { sql } from "drizzle-orm";
import { check, index, pgTable, uniqueIndex } from "drizzle-orm/pg-core";

import { user } from "./auth.ts";
import { promptSource } from "./pg-enums.ts";

export const prompt = pgTable(
  "prompt",
  (t) => ({
    id: t.uuid().primaryKey().defaultRandom(),
    text: t.text().notNull(),
    source: promptSource().notNull(),
    /** Who typed it (user prompts); kept as null if that account is deleted. */
    submittedBy: t.uuid().references(() => user.id, { onDelete: "set null" }),
    isActive: t.boolean().notNull().default(true),
    createdAt: t.timestamp({ withTimezone: true, mode: "date" }).notNull().defaultNow(),
  }),
  (table) => [
    check("prompt_text_length", sql`length(btrim(${table.text})) between 1 and 500`),
    // Curated imports are idempotent; users may type a curated prompt again.
    uniqueIndex("prompt_curated_text_key")
      .on(table.text)
      .where(sql`${table.source} = 'curated'`),
    index("prompt_active_idx")
      .on(table.createdAt)
      .where(sql`${table.isActive}`),
  ],
);
