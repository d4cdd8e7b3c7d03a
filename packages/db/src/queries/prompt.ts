import { and, desc, eq } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import type { PromptSource } from "../enums.ts";
import { NotFoundError, withDbErrors } from "../errors.ts";
import { prompt } from "../schema/prompt.ts";
import { mustExist } from "./util.ts";

export type Prompt = typeof prompt.$inferSelect;

/** Text is trimmed; 1–500 characters (INVALID_INPUT otherwise). A curated duplicate is a CONFLICT. */
export async function createPrompt(
  db: DbOrTx,
  input: { text: string; source: PromptSource; submittedBy?: string | null; isActive?: boolean },
): Promise<Prompt> {
  return withDbErrors(async () => {
    const [row] = await db
      .insert(prompt)
      .values({
        text: input.text.trim(),
        source: input.source,
        submittedBy: input.submittedBy ?? null,
        isActive: input.isActive,
      })
      .returning();
    return mustExist(row, "prompt");
  });
}

/** Active prompts, newest first. */
export async function listActivePrompts(
  db: DbOrTx,
  input: { source?: PromptSource; limit?: number } = {},
): Promise<Prompt[]> {
  return withDbErrors(() =>
    db
      .select()
      .from(prompt)
      .where(and(eq(prompt.isActive, true), input.source ? eq(prompt.source, input.source) : undefined))
      .orderBy(desc(prompt.createdAt), desc(prompt.id))
      .limit(input.limit ?? 1000),
  );
}

export async function setPromptActive(
  db: DbOrTx,
  input: { promptId: string; isActive: boolean },
): Promise<Prompt> {
  return withDbErrors(async () => {
    const [row] = await db
      .update(prompt)
      .set({ isActive: input.isActive })
      .where(eq(prompt.id, input.promptId))
      .returning();
    if (!row) throw new NotFoundError(`prompt ${input.promptId} not found`, { table: "prompt" });
    return row;
  });
}

export async function getPrompt(db: DbOrTx, promptId: string): Promise<Prompt> {
  return withDbErrors(async () => {
    const [row] = await db.select().from(prompt).where(eq(prompt.id, promptId));
    if (!row) throw new NotFoundError(`prompt ${promptId} not found`, { table: "prompt" });
    return row;
  });
}
