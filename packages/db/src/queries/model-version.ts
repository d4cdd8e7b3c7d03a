import { desc, eq, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import type { AliasMoveKind, ModelAlias, ModelVersionStatus } from "../enums.ts";
import { InvalidStateError, NotFoundError, withDbErrors } from "../errors.ts";
import { modelAlias, modelAliasEvent, modelVersion } from "../schema/model-version.ts";
import { mustExist } from "./util.ts";

export type ModelVersion = typeof modelVersion.$inferSelect;
export type ModelAliasEvent = typeof modelAliasEvent.$inferSelect;

/** NOTIFY channels (payload: JSON). Serving hosts LISTEN; a periodic reconcile covers missed notifications. */
export const MODEL_VERSION_CHANNEL = "likewise_model_version";
export const MODEL_ALIAS_CHANNEL = "likewise_model_alias";

/** Legal model-version status moves. Production is the alias, not a status. */
export const MODEL_VERSION_TRANSITIONS: Readonly<Record<ModelVersionStatus, readonly ModelVersionStatus[]>> =
  {
    candidate: ["registered", "rejected"],
    registered: ["retired"],
    retired: ["registered"],
    rejected: [],
  };

// Namespaces for pg_advisory_xact_lock(int4, int4); distinct per aggregate.
export const LOCK_CLASS_ALIAS = 0x4c57_0001;

export type RecordModelVersionInput = {
  /** Optional readable id (it names the artifact folder); a uuid when omitted. */
  id?: string;
  family: string;
  parentId?: string | null;
  status?: ModelVersionStatus;
  artifactUri: string;
  sha256: string;
  metrics?: Record<string, unknown>;
  manifest?: Record<string, unknown>;
  roundId?: string | null;
};

/** Inserts a version row and notifies serving hosts. CONFLICT on a duplicate id; NOT_FOUND for an unknown parent/round. */
export async function recordModelVersion(db: DbOrTx, input: RecordModelVersionInput): Promise<ModelVersion> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const [row] = await tx
        .insert(modelVersion)
        .values({
          id: input.id,
          family: input.family,
          parentId: input.parentId ?? null,
          status: input.status,
          artifactUri: input.artifactUri,
          sha256: input.sha256,
          metrics: input.metrics,
          manifest: input.manifest,
          roundId: input.roundId ?? null,
        })
        .returning();
      const version = mustExist(row, "model_version");
      await notify(tx, MODEL_VERSION_CHANNEL, { id: version.id, status: version.status });
      return version;
    }),
  );
}

export async function getModelVersion(db: DbOrTx, id: string): Promise<ModelVersion> {
  return withDbErrors(async () => {
    const [row] = await db.select().from(modelVersion).where(eq(modelVersion.id, id));
    if (!row) throw new NotFoundError(`model version ${id} not found`, { table: "model_version" });
    return row;
  });
}

/** Moves a version along MODEL_VERSION_TRANSITIONS; INVALID_STATE otherwise, or when retiring production. */
export async function setModelVersionStatus(
  db: DbOrTx,
  input: { id: string; status: ModelVersionStatus },
): Promise<ModelVersion> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const [current] = await tx
        .select()
        .from(modelVersion)
        .where(eq(modelVersion.id, input.id))
        .for("update");
      if (!current)
        throw new NotFoundError(`model version ${input.id} not found`, { table: "model_version" });
      if (current.status === input.status) return current;
      if (!MODEL_VERSION_TRANSITIONS[current.status].includes(input.status)) {
        throw new InvalidStateError(
          `model version ${input.id}: ${current.status} → ${input.status} is not allowed`,
        );
      }
      if (input.status === "retired") {
        const [alias] = await tx.select().from(modelAlias).where(eq(modelAlias.modelVersionId, input.id));
        if (alias)
          throw new InvalidStateError(`model version ${input.id} is ${alias.name}; move the alias first`);
      }
      const [row] = await tx
        .update(modelVersion)
        .set({ status: input.status, updatedAt: sql`now()` })
        .where(eq(modelVersion.id, input.id))
        .returning();
      const version = mustExist(row, "model_version");
      await notify(tx, MODEL_VERSION_CHANNEL, { id: version.id, status: version.status });
      return version;
    }),
  );
}

export async function findProductionModelVersion(db: DbOrTx): Promise<ModelVersion | null> {
  return withDbErrors(async () => {
    const [row] = await db
      .select({ version: modelVersion })
      .from(modelAlias)
      .innerJoin(modelVersion, eq(modelVersion.id, modelAlias.modelVersionId))
      .where(eq(modelAlias.name, "production"));
    return row?.version ?? null;
  });
}

/** The version the `production` alias points at; NOT_FOUND before the first promotion. */
export async function getProductionModelVersion(db: DbOrTx): Promise<ModelVersion> {
  const version = await findProductionModelVersion(db);
  if (!version) throw new NotFoundError("no production model version yet", { table: "model_alias" });
  return version;
}

export type SetProductionAliasInput = {
  modelVersionId: string;
  /** Defaults to "initial" for the first move and "promote" afterwards. */
  kind?: AliasMoveKind;
  actorId?: string | null;
  reason?: string | null;
};

export type AliasMove = {
  alias: ModelAlias;
  modelVersionId: string;
  previousModelVersionId: string | null;
  /** False when the alias already pointed there (no history row is written). */
  changed: boolean;
  event: ModelAliasEvent | null;
};

/**
 * Points `production` at a registered version, atomically with its audit row (who/when/why) and a NOTIFY that
 * is delivered on commit. Concurrent moves are serialised. NOT_FOUND / INVALID_STATE for unknown / unregistered targets.
 */
export async function setProductionAlias(db: DbOrTx, input: SetProductionAliasInput): Promise<AliasMove> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_CLASS_ALIAS}::int4, hashtext('production'))`);
      // FOR SHARE: the target cannot be retired or rejected until this move commits.
      const [target] = await tx
        .select({ id: modelVersion.id, status: modelVersion.status })
        .from(modelVersion)
        .where(eq(modelVersion.id, input.modelVersionId))
        .for("share");
      if (!target)
        throw new NotFoundError(`model version ${input.modelVersionId} not found`, {
          table: "model_version",
        });
      if (target.status !== "registered") {
        throw new InvalidStateError(
          `model version ${target.id} is ${target.status}; only registered versions can serve production`,
        );
      }
      const [current] = await tx.select().from(modelAlias).where(eq(modelAlias.name, "production"));
      const previous = current?.modelVersionId ?? null;
      if (previous === target.id) {
        return {
          alias: "production",
          modelVersionId: target.id,
          previousModelVersionId: previous,
          changed: false,
          event: null,
        };
      }
      await tx
        .insert(modelAlias)
        .values({ name: "production", modelVersionId: target.id, movedBy: input.actorId ?? null })
        .onConflictDoUpdate({
          target: modelAlias.name,
          set: { modelVersionId: target.id, movedAt: sql`now()`, movedBy: input.actorId ?? null },
        });
      const [event] = await tx
        .insert(modelAliasEvent)
        .values({
          alias: "production",
          kind: input.kind ?? (previous === null ? "initial" : "promote"),
          fromModelVersionId: previous,
          toModelVersionId: target.id,
          actorId: input.actorId ?? null,
          reason: input.reason ?? null,
        })
        .returning();
      await notify(tx, MODEL_ALIAS_CHANNEL, {
        alias: "production",
        modelVersionId: target.id,
        previousModelVersionId: previous,
      });
      return {
        alias: "production",
        modelVersionId: target.id,
        previousModelVersionId: previous,
        changed: true,
        event: mustExist(event, "model_alias_event"),
      };
    }),
  );
}

/** The production alias's moves, newest first. */
export async function listProductionAliasHistory(
  db: DbOrTx,
  input: { limit?: number } = {},
): Promise<ModelAliasEvent[]> {
  return withDbErrors(() =>
    db
      .select()
      .from(modelAliasEvent)
      .where(eq(modelAliasEvent.alias, "production"))
      .orderBy(desc(modelAliasEvent.id))
      .limit(input.limit ?? 100),
  );
}

async function notify(db: DbOrTx, channel: string, payload: Record<string, unknown>): Promise<void> {
  await db.execute(sql`select pg_notify(${channel}, ${JSON.stringify(payload)})`);
}
