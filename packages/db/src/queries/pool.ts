import { and, count, eq, inArray, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import { GENERATION_STATUSES, type GenerationStatus } from "../enums.ts";
import { withDbErrors } from "../errors.ts";
import { experiment, variant } from "../schema/experiment.ts";
import { vote } from "../schema/feedback.ts";
import { generationRequest } from "../schema/generation.ts";
import { image } from "../schema/image.ts";
import { modelAlias } from "../schema/model-version.ts";
import { prompt } from "../schema/prompt.ts";

/** The versions the pool serves: production first, then every variant of a running experiment (deduplicated). */
export async function listActiveModelVersionIds(db: DbOrTx): Promise<string[]> {
  return withDbErrors(async () => {
    const [prod] = await db
      .select({ id: modelAlias.modelVersionId })
      .from(modelAlias)
      .where(eq(modelAlias.name, "production"));
    const variants = await db
      .select({ id: variant.modelVersionId })
      .from(variant)
      .innerJoin(experiment, eq(experiment.id, variant.experimentId))
      .where(eq(experiment.status, "running"));
    const ids = [...(prod ? [prod.id] : []), ...variants.map((v) => v.id)];
    return [...new Set(ids)];
  });
}

export type PoolCoverage = { modelVersionId: string; promptId: string; unrated: number };

/**
 * For every (version, active curated prompt) pair: visible images nobody has voted on yet. Pairs with none are
 * included with 0, so a caller can compute deficits directly.
 */
export async function listPoolCoverage(
  db: DbOrTx,
  input: { modelVersionIds: string[] },
): Promise<PoolCoverage[]> {
  if (input.modelVersionIds.length === 0) return [];
  return withDbErrors(async () => {
    const prompts = await db
      .select({ id: prompt.id })
      .from(prompt)
      .where(and(eq(prompt.isActive, true), eq(prompt.source, "curated")));
    if (prompts.length === 0) return [];
    const rows = await db
      .select({ modelVersionId: image.modelVersionId, promptId: image.promptId, unrated: count() })
      .from(image)
      .where(
        and(
          inArray(image.modelVersionId, input.modelVersionIds),
          inArray(
            image.promptId,
            prompts.map((p) => p.id),
          ),
          eq(image.isHidden, false),
          sql`not exists (select 1 from ${vote} where ${vote.imageId} = ${image.id})`,
        ),
      )
      .groupBy(image.modelVersionId, image.promptId);
    const have = new Map(rows.map((r) => [`${r.modelVersionId}\u0000${r.promptId}`, r.unrated]));
    return input.modelVersionIds.flatMap((v) =>
      prompts.map((p) => ({
        modelVersionId: v,
        promptId: p.id,
        unrated: have.get(`${v}\u0000${p.id}`) ?? 0,
      })),
    );
  });
}

export type GenerationBacklog = {
  /** On-demand requests per status (all time for done/failed). */
  requests: Record<GenerationStatus, number>;
  /** Age in seconds of the oldest queued request; null when none waits. */
  oldestQueuedSec: number | null;
  /** Per active version: prompts below `poolTarget` unrated images and the images missing in total. */
  pool: { modelVersionId: string; prompts: number; promptsBelowTarget: number; missingImages: number }[];
  poolTarget: number;
};

/** What the admin dashboard shows about generation: request backlog and pool deficits of the active versions. */
export async function getGenerationBacklog(
  db: DbOrTx,
  input: { poolTarget: number },
): Promise<GenerationBacklog> {
  const versions = await listActiveModelVersionIds(db);
  const coverage = await listPoolCoverage(db, { modelVersionIds: versions });
  return withDbErrors(async () => {
    const counts = await db
      .select({ status: generationRequest.status, n: count() })
      .from(generationRequest)
      .groupBy(generationRequest.status);
    const requests = Object.fromEntries(GENERATION_STATUSES.map((s) => [s, 0])) as Record<
      GenerationStatus,
      number
    >; // safe: every status key is set
    for (const c of counts) requests[c.status] = c.n;
    const [oldest] = await db
      .select({
        sec: sql<number | null>`extract(epoch from now() - min(${generationRequest.createdAt}))::float8`,
      })
      .from(generationRequest)
      .where(eq(generationRequest.status, "queued"));
    const pool = versions.map((v) => {
      const mine = coverage.filter((c) => c.modelVersionId === v);
      const below = mine.filter((c) => c.unrated < input.poolTarget);
      return {
        modelVersionId: v,
        prompts: mine.length,
        promptsBelowTarget: below.length,
        missingImages: below.reduce((s, c) => s + (input.poolTarget - c.unrated), 0),
      };
    });
    return { requests, oldestQueuedSec: oldest?.sec ?? null, pool, poolTarget: input.poolTarget };
  });
}
