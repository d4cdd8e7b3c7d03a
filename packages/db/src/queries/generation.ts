import { randomInt } from "node:crypto";

import { and, asc, eq, inArray, lt, or, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import type { GenerationStatus } from "../enums.ts";
import { InvalidInputError, NotFoundError, UnavailableError, withDbErrors } from "../errors.ts";
import type { JobQueue } from "../queue.ts";
import { generationRequest } from "../schema/generation.ts";
import { image } from "../schema/image.ts";
import { createPrompt } from "./prompt.ts";
import { mustExist } from "./util.ts";

export type GenerationRequest = typeof generationRequest.$inferSelect;

/** A request as a client polls it: the row plus its finished images (in seed order). */
export type GenerationRequestView = GenerationRequest & {
  images: {
    id: string;
    blobKey: string;
    seed: number;
    width: number;
    height: number;
    modelVersionId: string;
  }[];
};

/** The serving sampler's defaults (apps/trainer POOL_SAMPLING: 50 ancestral steps, guidance 3). */
export const GENERATION_DEFAULTS = { count: 4, steps: 50, guidance: 3 } as const;
export const MAX_GENERATION_COUNT = 16;

export type RequestGenerationInput = {
  userId: string | null;
  /** The typed prompt (stored as a `user` prompt); or `promptId` of an existing prompt. */
  prompt?: string;
  promptId?: string;
  /** The variant's version (experiments); null/absent = production at run time. */
  modelVersionId?: string | null;
  /** Images, 1–16; default 4. */
  count?: number;
  /** Base seed (image i uses seed + i); random when absent. */
  seed?: number;
  steps?: number;
  guidance?: number;
};

/**
 * User prompt → a queued generation_request row + a job on the generation queue (job id = request id, so
 * re-sending is idempotent). INVALID_INPUT for a bad prompt/count; NOT_FOUND for an unknown user/prompt/version;
 * UNAVAILABLE when the queue refused the job (the request is then marked failed).
 */
export async function requestGeneration(
  db: DbOrTx,
  queue: Pick<JobQueue, "send">,
  input: RequestGenerationInput,
): Promise<GenerationRequest> {
  const count = input.count ?? GENERATION_DEFAULTS.count;
  if (!Number.isInteger(count) || count < 1 || count > MAX_GENERATION_COUNT)
    throw new InvalidInputError(`count must be an integer in [1, ${MAX_GENERATION_COUNT}], got ${count}`);
  if ((input.prompt === undefined) === (input.promptId === undefined))
    throw new InvalidInputError("give exactly one of prompt (text) and promptId");
  const row = await withDbErrors(() =>
    db.transaction(async (tx) => {
      const promptId =
        input.promptId ??
        (await createPrompt(tx, { text: input.prompt ?? "", source: "user", submittedBy: input.userId })).id;
      const [inserted] = await tx
        .insert(generationRequest)
        .values({
          userId: input.userId,
          promptId,
          requestedModelVersionId: input.modelVersionId ?? null,
          count,
          seed: input.seed ?? randomInt(0, 2 ** 31),
          steps: input.steps ?? GENERATION_DEFAULTS.steps,
          guidance: input.guidance ?? GENERATION_DEFAULTS.guidance,
        })
        .returning();
      return mustExist(inserted, "generation_request");
    }),
  );
  try {
    await queue.send("generation", { requestId: row.id }, { id: row.id });
  } catch (e) {
    await failGenerationRequest(db, { id: row.id, error: `could not enqueue: ${String(e)}`, isFinal: true });
    throw new UnavailableError("the generation queue is unavailable", { cause: e });
  }
  return row;
}

/** Re-sends the job of a request that is still queued/running (a lost job, or after a restart). Idempotent. */
export async function resendGenerationJob(
  queue: Pick<JobQueue, "send">,
  requestId: string,
): Promise<boolean> {
  return (await queue.send("generation", { requestId }, { id: requestId })) !== null;
}

/** The request with its images. NOT_FOUND when absent, or when `userId` is given and is not the requester. */
export async function getGenerationRequest(
  db: DbOrTx,
  input: { id: string; userId?: string },
): Promise<GenerationRequestView> {
  return withDbErrors(async () => {
    const [row] = await db
      .select()
      .from(generationRequest)
      .where(
        and(
          eq(generationRequest.id, input.id),
          input.userId === undefined ? undefined : eq(generationRequest.userId, input.userId),
        ),
      );
    if (!row)
      throw new NotFoundError(`generation request ${input.id} not found`, { table: "generation_request" });
    const images =
      row.imageIds.length === 0
        ? []
        : await db
            .select({
              id: image.id,
              blobKey: image.blobKey,
              seed: image.seed,
              width: image.width,
              height: image.height,
              modelVersionId: image.modelVersionId,
            })
            .from(image)
            .where(inArray(image.id, row.imageIds))
            .orderBy(asc(image.seed));
    return { ...row, images };
  });
}

/**
 * Worker side: queued (or running, after a crashed attempt) → running; counts the attempt. Returns null when the
 * request is already done or failed (a duplicate delivery), so the job can be acknowledged without work.
 */
export async function startGenerationRequest(
  db: DbOrTx,
  input: { id: string; workerId: string },
): Promise<GenerationRequest | null> {
  return withDbErrors(async () => {
    const [row] = await db
      .update(generationRequest)
      .set({
        status: "running",
        progress: 0,
        error: null,
        attempts: sql`${generationRequest.attempts} + 1`,
        workerId: input.workerId,
        startedAt: sql`coalesce(${generationRequest.startedAt}, now())`,
        updatedAt: sql`now()`,
      })
      .where(
        and(eq(generationRequest.id, input.id), inArray(generationRequest.status, ["queued", "running"])),
      )
      .returning();
    if (row) return row;
    await getGenerationRequest(db, { id: input.id }); // NOT_FOUND for an unknown id
    return null;
  });
}

/** Progress in [0, 1] of a running request (no-op once it finished). */
export async function setGenerationProgress(
  db: DbOrTx,
  input: { id: string; progress: number },
): Promise<void> {
  await withDbErrors(() =>
    db
      .update(generationRequest)
      .set({ progress: Math.min(1, Math.max(0, input.progress)), updatedAt: sql`now()` })
      .where(and(eq(generationRequest.id, input.id), eq(generationRequest.status, "running"))),
  );
}

/** running → done with the produced images and the version that made them. INVALID_INPUT if the count differs. */
export async function completeGenerationRequest(
  db: DbOrTx,
  input: { id: string; modelVersionId: string; imageIds: string[] },
): Promise<GenerationRequest> {
  return withDbErrors(async () => {
    const [row] = await db
      .update(generationRequest)
      .set({
        status: "done",
        progress: 1,
        error: null,
        modelVersionId: input.modelVersionId,
        imageIds: input.imageIds,
        finishedAt: sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(
        and(eq(generationRequest.id, input.id), inArray(generationRequest.status, ["queued", "running"])),
      )
      .returning();
    if (!row) return getGenerationRequest(db, { id: input.id });
    return row;
  });
}

/** A failed attempt: final → failed (error kept); otherwise back to queued for the queue's retry. */
export async function failGenerationRequest(
  db: DbOrTx,
  input: { id: string; error: string; isFinal: boolean },
): Promise<void> {
  const status: GenerationStatus = input.isFinal ? "failed" : "queued";
  await withDbErrors(() =>
    db
      .update(generationRequest)
      .set({
        status,
        error: input.error.slice(0, 2000),
        progress: 0,
        finishedAt: input.isFinal ? sql`now()` : null,
        updatedAt: sql`now()`,
      })
      .where(
        and(eq(generationRequest.id, input.id), inArray(generationRequest.status, ["queued", "running"])),
      ),
  );
}

/** Requests that should have a job but have not moved for `olderThanMs` (queued, or running with a dead worker). */
export async function listStaleGenerationRequests(
  db: DbOrTx,
  input: { olderThanMs: number; limit?: number },
): Promise<GenerationRequest[]> {
  const cutoff = sql`now() - make_interval(secs => ${input.olderThanMs / 1000})`;
  return withDbErrors(() =>
    db
      .select()
      .from(generationRequest)
      .where(
        or(
          and(eq(generationRequest.status, "queued"), lt(generationRequest.updatedAt, cutoff)),
          and(eq(generationRequest.status, "running"), lt(generationRequest.updatedAt, cutoff)),
        ),
      )
      .orderBy(asc(generationRequest.createdAt))
      .limit(input.limit ?? 100),
  );
}
