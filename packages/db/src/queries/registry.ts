import { and, desc, eq, gt, ne, sql } from "drizzle-orm";

import type { DbHandle, DbOrTx } from "../client.ts";
import { InvalidStateError, withDbErrors } from "../errors.ts";
import type { ModelVersionStatus } from "../enums.ts";
import { modelAlias, modelAliasEvent, modelVersion } from "../schema/model-version.ts";
import { experiment, variant } from "../schema/experiment.ts";
import { alignmentRound } from "../schema/round.ts";
import { servingHost } from "../schema/serving.ts";
import {
  type AliasMove,
  findProductionModelVersion,
  MODEL_ALIAS_CHANNEL,
  MODEL_VERSION_CHANNEL,
  type ModelVersion,
  setProductionAlias,
} from "./model-version.ts";
import { mustExist } from "./util.ts";

export type ServingHostRow = typeof servingHost.$inferSelect;

export type ModelVersionListItem = ModelVersion & {
  isProduction: boolean;
  /** Labels the producing round trained on (desirable / undesirable); null for base models. */
  labels: { desirable: number; undesirable: number } | null;
  /** Why registration refused it (rejected versions). */
  rejection: { code: string; message: string } | null;
};

/** The admin models page: versions newest first with lineage (parent, round, labels used) and refusal reasons. */
export async function listModelVersions(
  db: DbOrTx,
  input: { limit?: number; status?: ModelVersionStatus } = {},
): Promise<ModelVersionListItem[]> {
  return withDbErrors(async () => {
    const rows = await db
      .select({ version: modelVersion, round: alignmentRound, alias: modelAlias.name })
      .from(modelVersion)
      .leftJoin(alignmentRound, eq(alignmentRound.id, modelVersion.roundId))
      .leftJoin(modelAlias, eq(modelAlias.modelVersionId, modelVersion.id))
      .where(input.status ? eq(modelVersion.status, input.status) : undefined)
      .orderBy(desc(modelVersion.createdAt), desc(modelVersion.id))
      .limit(input.limit ?? 100);
    return rows.map(({ version, round, alias }) => {
      const r = version.metrics.rejection;
      const rejection =
        typeof r === "object" && r !== null && "code" in r && "message" in r
          ? { code: String(r.code), message: String(r.message) }
          : null;
      return {
        ...version,
        isProduction: alias === "production",
        labels: round
          ? { desirable: round.labelCountDesirable, undesirable: round.labelCountUndesirable }
          : null,
        rejection,
      };
    });
  });
}

/**
 * Moves `production` back to the version it replaced: the `from` of the promotion that last made the current version
 * production (kind "rollback", who/why recorded). Rollbacks therefore walk back through promotions instead of
 * toggling: after promote A→B, promote B→C, rollback C→B, the next rollback goes to A. INVALID_STATE when there is
 * nothing to roll back to, or that version is no longer registered.
 */
export async function rollbackProduction(
  db: DbOrTx,
  input: { actorId?: string | null; reason?: string | null } = {},
): Promise<AliasMove> {
  const current = await findProductionModelVersion(db);
  if (!current) throw new InvalidStateError("there is no production version to roll back");
  const [promotion] = await withDbErrors(() =>
    db
      .select()
      .from(modelAliasEvent)
      .where(
        and(
          eq(modelAliasEvent.alias, "production"),
          eq(modelAliasEvent.toModelVersionId, current.id),
          ne(modelAliasEvent.kind, "rollback"),
        ),
      )
      .orderBy(desc(modelAliasEvent.id))
      .limit(1),
  );
  if (!promotion?.fromModelVersionId)
    throw new InvalidStateError(`production (${current.id}) has no previous version to roll back to`);
  return setProductionAlias(db, {
    modelVersionId: promotion.fromModelVersionId,
    kind: "rollback",
    actorId: input.actorId,
    reason: input.reason,
  });
}

export type ReportServingHostInput = {
  id: string;
  /** "web", "trainer", … */
  kind: string;
  hostname: string;
  pid: number;
  productionVersionId: string | null;
  isConverged: boolean;
  status: Record<string, unknown>;
};

/** Heartbeat of a serving process's model host (upsert). */
export async function reportServingHost(db: DbOrTx, input: ReportServingHostInput): Promise<ServingHostRow> {
  return withDbErrors(async () => {
    const values = {
      kind: input.kind,
      hostname: input.hostname,
      pid: input.pid,
      productionVersionId: input.productionVersionId,
      isConverged: input.isConverged,
      status: input.status,
    };
    const [row] = await db
      .insert(servingHost)
      .values({ id: input.id, ...values })
      .onConflictDoUpdate({ target: servingHost.id, set: { ...values, heartbeatAt: sql`now()` } })
      .returning();
    return mustExist(row, "serving_host");
  });
}

/** Hosts that reported within `seenWithinMs` (default 60 s), most recent first. */
export async function listServingHosts(
  db: DbOrTx,
  input: { seenWithinMs?: number } = {},
): Promise<ServingHostRow[]> {
  const secs = (input.seenWithinMs ?? 60_000) / 1000;
  return withDbErrors(() =>
    db
      .select()
      .from(servingHost)
      .where(gt(servingHost.heartbeatAt, sql`now() - make_interval(secs => ${secs})`))
      .orderBy(desc(servingHost.heartbeatAt)),
  );
}

/** A stopping host removes its row. */
export async function removeServingHost(db: DbOrTx, id: string): Promise<void> {
  await withDbErrors(() => db.delete(servingHost).where(eq(servingHost.id, id)));
}

/**
 * The state every model host converges to, in one round trip: the production alias and the versions of running
 * experiments' variants (production excluded).
 */
export async function getServingTarget(db: DbOrTx): Promise<{ production: string | null; active: string[] }> {
  return withDbErrors(async () => {
    const [row] = await db.execute<{ production: string | null; active: string[] | null }>(sql`
      select (select ${modelAlias.modelVersionId} from ${modelAlias} where ${modelAlias.name} = 'production') as production,
             (select array_agg(distinct ${variant.modelVersionId} order by ${variant.modelVersionId})
                from ${variant} join ${experiment} on ${experiment.id} = ${variant.experimentId}
               where ${experiment.status} in ('starting', 'running')) as active`);
    const production = row?.production ?? null;
    return { production, active: (row?.active ?? []).filter((id) => id !== production) };
  });
}

/**
 * What a serving process's model host follows (structurally `RegistryFeed` of @likewise/serving): the production
 * alias plus the versions of starting and running experiments, re-read on every model version / alias / experiment NOTIFY and after the
 * LISTEN connection (re)connects.
 */
export function modelRegistryFeed(handle: Pick<DbHandle, "db" | "sql">) {
  return {
    fetchTarget: () => getServingTarget(handle.db),
    async subscribe(onChange: (hint?: { production?: string | null }) => void): Promise<() => Promise<void>> {
      const subs = await Promise.all([
        withDbErrors(() =>
          handle.sql.listen(
            MODEL_ALIAS_CHANNEL,
            (payload) => onChange(productionHint(payload)),
            () => onChange(),
          ),
        ),
        withDbErrors(() =>
          handle.sql.listen(
            MODEL_VERSION_CHANNEL,
            () => onChange(),
            () => onChange(),
          ),
        ),
      ]);
      return async () => {
        await Promise.all(subs.map((s) => s.unlisten()));
      };
    },
  };
}

/** The production alias NOTIFY payload (`setProductionAlias`) → where production moved; nothing for other payloads. */
function productionHint(payload: string): { production?: string } | undefined {
  try {
    const p: unknown = JSON.parse(payload);
    if (typeof p === "object" && p !== null && "alias" in p && "modelVersionId" in p)
      if (p.alias === "production" && typeof p.modelVersionId === "string")
        return { production: p.modelVersionId };
  } catch {
    // not ours: fall back to a full re-read
  }
  return undefined;
}
