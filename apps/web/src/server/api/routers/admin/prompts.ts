import "~/server/only";

import { type TRPCRouterRecord, TRPCError } from "@trpc/server";

import { ConflictError, createPrompt, InvalidInputError, listPrompts, setPromptActive } from "@likewise/db";

import {
  AddPromptInput,
  ImportPromptsInput,
  ListInput,
  PROMPT_IMPORT_MAX_LINES,
  PromptText,
  SetPromptActiveInput,
} from "~/lib/schemas";

import { promptProblem, textProblem } from "../../../services/prompt-check";
import { adminProcedure, analystProcedure } from "../../trpc";

export type ImportLineResult = {
  line: number;
  text: string;
  status: "added" | "duplicate" | "error";
  message?: string;
};

export const adminPromptsRouter = {
  list: analystProcedure
    .input(ListInput)
    .query(({ ctx, input }) => listPrompts(ctx.db, { limit: input.limit, before: input.cursor })),

  /** A curated prompt; checked against the production model's vocabulary when there is one. */
  add: adminProcedure.input(AddPromptInput).mutation(async ({ ctx, input }) => {
    const vocab = await ctx.services.vocabulary(ctx.db);
    const problem = vocab ? promptProblem(vocab.tokenizer, input.text) : textProblem(input.text);
    if (problem) throw new TRPCError({ code: "BAD_REQUEST", message: problem });
    try {
      return await createPrompt(ctx.db, { text: input.text, source: "curated" });
    } catch (e) {
      if (e instanceof ConflictError)
        throw new TRPCError({ code: "CONFLICT", message: "this prompt is already in the pool" });
      throw e;
    }
  }),

  setActive: adminProcedure
    .input(SetPromptActiveInput)
    .mutation(({ ctx, input }) => setPromptActive(ctx.db, input)),

  /**
   * One prompt per line (blank lines and lines starting with # are skipped); a result for every other line. A text
   * that cannot be a prompt list at all (binary, too many lines) is refused as a whole before anything is added.
   */
  import: adminProcedure.input(ImportPromptsInput).mutation(async ({ ctx, input }) => {
    if (input.text.includes("\u0000"))
      throw new TRPCError({
        code: "BAD_REQUEST",
        message:
          "this is not a text file (it contains NUL bytes): import plain UTF-8 text, one prompt per line",
      });
    const lines = input.text.split(/\r\n|\r|\n/);
    if (lines.length > PROMPT_IMPORT_MAX_LINES)
      throw new TRPCError({
        code: "BAD_REQUEST",
        message: `at most ${PROMPT_IMPORT_MAX_LINES} lines per import (this one has ${lines.length})`,
      });
    const vocab = await ctx.services.vocabulary(ctx.db);
    const results: ImportLineResult[] = [];
    for (const [i, raw] of lines.entries()) {
      const text = raw.trim();
      if (text === "" || text.startsWith("#")) continue;
      const line = i + 1;
      const parsed = PromptText.safeParse(text);
      if (!parsed.success) {
        results.push({ line, text, status: "error", message: parsed.error.issues[0]?.message ?? "invalid" });
        continue;
      }
      const problem = vocab ? promptProblem(vocab.tokenizer, parsed.data) : textProblem(parsed.data);
      if (problem) {
        results.push({ line, text, status: "error", message: problem });
        continue;
      }
      try {
        await createPrompt(ctx.db, { text: parsed.data, source: "curated" });
        results.push({ line, text, status: "added" });
      } catch (e) {
        if (e instanceof InvalidInputError) {
          results.push({ line, text, status: "error", message: e.message });
          continue;
        }
        if (!(e instanceof ConflictError)) throw e;
        results.push({ line, text, status: "duplicate", message: "already in the pool" });
      }
    }
    const count = (s: ImportLineResult["status"]) => results.filter((r) => r.status === s).length;
    return { results, added: count("added"), duplicates: count("duplicate"), errors: count("error") };
  }),
} satisfies TRPCRouterRecord;
