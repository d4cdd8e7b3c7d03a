import "~/server/only";

import { type TRPCRouterRecord, TRPCError } from "@trpc/server";

import { getGenerationRequest, listPromptImages, listUserPrompts, requestGeneration } from "@likewise/db";

import { GenerationIdInput, PromptIdInput, SubmitPromptInput } from "~/lib/schemas";

import { knownWords, promptProblem } from "../../services/prompt-check";
import { resolveViewerVariant } from "../../services/variant";
import { enforceLimit, raterProcedure } from "../trpc";

/** Images per on-demand generation. */
export const GENERATION_COUNT = 4;

export const promptsRouter = {
  /** The words the serving model understands (shown next to the prompt box). */
  vocabulary: raterProcedure.query(async ({ ctx }) => {
    const vocab = await ctx.services.vocabulary(ctx.db);
    return vocab ? { words: knownWords(vocab.tokenizer), maxWords: vocab.tokenizer.contextLength } : null;
  }),

  /**
   * A rater's prompt: checked against the model's vocabulary (unknown words are named), rate limited per user,
   * stored as a user prompt and queued for generation with the viewer's variant.
   */
  submit: raterProcedure.input(SubmitPromptInput).mutation(async ({ ctx, input }) => {
    const vocab = await ctx.services.vocabulary(ctx.db);
    if (!vocab) throw new TRPCError({ code: "PRECONDITION_FAILED", message: "no model is serving yet" });
    const problem = promptProblem(vocab.tokenizer, input.text);
    if (problem) throw new TRPCError({ code: "BAD_REQUEST", message: problem });
    enforceLimit(ctx.limits.prompt.take(ctx.viewer.id), "prompts");
    const variant = await resolveViewerVariant(ctx.db, ctx.viewer.id);
    const request = await requestGeneration(ctx.db, await ctx.services.queue(), {
      userId: ctx.viewer.id,
      prompt: input.text,
      modelVersionId: variant?.variantId ? variant.modelVersionId : null,
      count: GENERATION_COUNT,
    });
    return { requestId: request.id, promptId: request.promptId, status: request.status };
  }),

  /** A generation the viewer asked for: status, progress (0–1) and, once done, its images. */
  generation: raterProcedure.input(GenerationIdInput).query(async ({ ctx, input }) => {
    const r = await getGenerationRequest(ctx.db, { id: input.requestId, userId: ctx.viewer.id });
    return {
      id: r.id,
      promptId: r.promptId,
      status: r.status,
      progress: r.progress,
      error: r.status === "failed" ? "generation failed; try again" : null,
      images: r.images,
      createdAt: r.createdAt,
    };
  }),

  mine: raterProcedure.query(({ ctx }) => listUserPrompts(ctx.db, { userId: ctx.viewer.id, limit: 50 })),

  images: raterProcedure
    .input(PromptIdInput)
    .query(({ ctx, input }) => listPromptImages(ctx.db, { promptId: input.promptId, limit: 32 })),
} satisfies TRPCRouterRecord;
