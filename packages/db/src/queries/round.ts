import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import { ROUND_TRANSITIONS, type RoundStatus, type RoundTrigger, TERMINAL_ROUND_STATUSES } from "../enums.ts";
import { InvalidInputError, InvalidStateError, NotFoundError, withDbErrors } from "../errors.ts";
import { modelVersion } from "../schema/model-version.ts";
import { alignmentRound } from "../schema/round.ts";
import { RELEASABLE_ROUND_STATUSES, releaseClaimsInTx } from "./label.ts";
import { findProductionModelVersion } from "./model-version.ts";
import { isOneOf, mustExist } from "./util.ts";

export type Round = typeof alignmentRound.$inferSelect;

export type CreateRoundInput = {
  trigger: RoundTrigger;
  /** Defaults to the current production version (NOT_FOUND when there is none). */
  parentModelVersionId?: string;
  objectiveConfig?: Record<string, unknown>;
  scheduleId?: string | null;
  requestedBy?: string | null;
};

/** Queues a round. NOT_FOUND for an unknown parent/schedule/user. */
export async function createRound(db: DbOrTx, input: CreateRoundInput): Promise<Round> {
  return withDbErrors(async () => {
    let parentId = input.parentModelVersionId;
    if (parentId === undefined) {
      const production = await findProductionModelVersion(db);
      if (!production)
        throw new NotFoundError("no production model version to use as the round's parent", {
          table: "model_alias",
        });
      parentId = production.id;
    }
    const [row] = await db
      .insert(alignmentRound)
      .values({
        trigger: input.trigger,
        parentModelVersionId: parentId,
        objectiveConfig: input.objectiveConfig,
        scheduleId: input.scheduleId ?? null,
        requestedBy: input.requestedBy ?? null,
      })
      .returning();
    return mustExist(row, "alignment_round");
  });
}

export async function getRound(db: DbOrTx, roundId: string): Promise<Round> {
  return withDbErrors(async () => {
    const [row] = await db.select().from(alignmentRound).where(eq(alignmentRound.id, roundId));
    if (!row) throw new NotFoundError(`round ${roundId} not found`, { table: "alignment_round" });
    return row;
  });
}

export type UpdateRoundStatusInput = {
  roundId: string;
  to: RoundStatus;
  /** Required by `failed` (CHECK); allowed with any status. */
  error?: string | null;
  /** Required by `published`; must be a version recorded with this round's id (INVALID_INPUT otherwise). */
  candidateModelVersionId?: string | null;
  metrics?: Record<string, unknown>;
  progress?: Record<string, unknown>;
};

export type UpdateRoundStatusResult = { round: Round; previousStatus: RoundStatus; releasedLabels: number };

/**
 * Moves a round along ROUND_TRANSITIONS (INVALID_STATE otherwise). Ending a round as failed, canceled or rejected
 * returns its labels to the pool in the same transaction. Entering training/exporting/evaluating while another
 * round is there is a CONFLICT (one round runs at a time, enforced by a unique index).
 */
export async function updateRoundStatus(
  db: DbOrTx,
  input: UpdateRoundStatusInput,
): Promise<UpdateRoundStatusResult> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const [current] = await tx
        .select({ status: alignmentRound.status })
        .from(alignmentRound)
        .where(eq(alignmentRound.id, input.roundId))
        .for("update");
      if (!current) throw new NotFoundError(`round ${input.roundId} not found`, { table: "alignment_round" });
      if (!ROUND_TRANSITIONS[current.status].includes(input.to)) {
        throw new InvalidStateError(`round ${input.roundId}: ${current.status} → ${input.to} is not allowed`);
      }
      if (input.candidateModelVersionId) {
        // Lineage: a round's candidate is a version that round produced.
        const [candidate] = await tx
          .select({ roundId: modelVersion.roundId })
          .from(modelVersion)
          .where(eq(modelVersion.id, input.candidateModelVersionId));
        if (!candidate) {
          throw new NotFoundError(`model version ${input.candidateModelVersionId} not found`, {
            table: "model_version",
          });
        }
        if (candidate.roundId !== input.roundId) {
          throw new InvalidInputError(
            `model version ${input.candidateModelVersionId} was not produced by round ${input.roundId} (its round: ${candidate.roundId ?? "none"})`,
          );
        }
      }
      const terminal = isOneOf(TERMINAL_ROUND_STATUSES, input.to);
      const [row] = await tx
        .update(alignmentRound)
        .set({
          status: input.to,
          // A round canceled while still queued never started.
          startedAt: current.status === "queued" && !terminal ? sql`now()` : undefined,
          finishedAt: terminal ? sql`now()` : null,
          error: input.error,
          candidateModelVersionId: input.candidateModelVersionId,
          metrics: input.metrics,
          progress: input.progress,
          updatedAt: sql`now()`,
        })
        .where(eq(alignmentRound.id, input.roundId))
        .returning();
      let round = mustExist(row, "alignment_round");
      let releasedLabels = 0;
      if (isOneOf(RELEASABLE_ROUND_STATUSES, input.to)) {
        releasedLabels = await releaseClaimsInTx(tx, input.roundId);
        const [after] = await tx.select().from(alignmentRound).where(eq(alignmentRound.id, input.roundId));
        round = mustExist(after, "alignment_round");
      }
      return { round, previousStatus: current.status, releasedLabels };
    }),
  );
}

/** A worker's liveness signal (and optional progress) for a live round; INVALID_STATE once the round has ended. */
export async function heartbeatRound(
  db: DbOrTx,
  input: { roundId: string; workerId: string; progress?: Record<string, unknown> },
): Promise<Round> {
  return withDbErrors(async () => {
    const [row] = await db
      .update(alignmentRound)
      .set({
        workerId: input.workerId,
        heartbeatAt: sql`now()`,
        progress: input.progress,
        updatedAt: sql`now()`,
      })
      .where(sql`${alignmentRound.id} = ${input.roundId} and ${alignmentRound.finishedAt} is null`)
      .returning();
    if (row) return row;
    const round = await getRound(db, input.roundId);
    throw new InvalidStateError(`round ${input.roundId} is ${round.status}; no heartbeats after it ended`);
  });
}

/** Rounds, newest first, optionally filtered by status (the admin rounds page). */
export async function listRounds(
  db: DbOrTx,
  input: { statuses?: RoundStatus[]; limit?: number } = {},
): Promise<Round[]> {
  return withDbErrors(() =>
    db
      .select()
      .from(alignmentRound)
      .where(
        input.statuses && input.statuses.length > 0
          ? inArray(alignmentRound.status, input.statuses)
          : undefined,
      )
      .orderBy(desc(alignmentRound.createdAt), desc(alignmentRound.id))
      .limit(input.limit ?? 50),
  );
}

/**
 * Live rounds (draining…evaluating) whose worker has not sent a heartbeat for `olderThanMs` (or never did): the
 * crash-recovery sweep resumes or fails them. Uses the database clock, so worker clock skew does not matter.
 */
export async function listStaleRounds(db: DbOrTx, input: { olderThanMs: number }): Promise<Round[]> {
  return withDbErrors(() =>
    db
      .select()
      .from(alignmentRound)
      .where(
        and(
          inArray(alignmentRound.status, ["draining", "training", "exporting", "evaluating"]),
          lt(
            sql`coalesce(${alignmentRound.heartbeatAt}, ${alignmentRound.startedAt}, ${alignmentRound.createdAt})`,
            sql`now() - make_interval(secs => ${input.olderThanMs / 1000}::double precision)`,
          ),
        ),
      )
      .orderBy(alignmentRound.createdAt),
  );
}

export type RoundLease = { acquired: true; round: Round } | { acquired: false; reason: string; round: Round };

/**
 * Takes (or renews) the right to run a round for `workerId`, one round at a time across every worker: serialized by a
 * transaction-scoped advisory lock, refused while another round a worker holds (queued…evaluating) has a heartbeat younger
 * than `staleMs` under a worker, or while this round's own heartbeat is fresh under another worker. A stale round (its worker died)
 * is taken over. On success the heartbeat is stamped with `workerId`. NOT_FOUND for an unknown round; a round that
 * already ended is not acquired.
 */
export async function acquireRoundLease(
  db: DbOrTx,
  input: { roundId: string; workerId: string; staleMs: number },
): Promise<RoundLease> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('likewise:round-lease'))`);
      const [row] = await tx
        .select()
        .from(alignmentRound)
        .where(eq(alignmentRound.id, input.roundId))
        .for("update");
      if (!row) throw new NotFoundError(`round ${input.roundId} not found`, { table: "alignment_round" });
      if (isOneOf(TERMINAL_ROUND_STATUSES, row.status)) {
        return { acquired: false as const, reason: `round is ${row.status}`, round: row };
      }
      const fresh = sql`coalesce(${alignmentRound.heartbeatAt}, ${alignmentRound.startedAt}, ${alignmentRound.createdAt})
        >= now() - make_interval(secs => ${input.staleMs / 1000}::double precision)`;
      const [other] = await tx
        .select({ id: alignmentRound.id, status: alignmentRound.status, workerId: alignmentRound.workerId })
        .from(alignmentRound)
        .where(
          and(
            sql`${alignmentRound.id} <> ${input.roundId}`,
            sql`${alignmentRound.workerId} is not null`,
            inArray(alignmentRound.status, ["queued", "draining", "training", "exporting", "evaluating"]),
            fresh,
          ),
        )
        .limit(1);
      if (other) {
        return {
          acquired: false as const,
          reason: `round ${other.id} is ${other.status} on ${other.workerId ?? "a worker"}`,
          round: row,
        };
      }
      if (row.workerId && row.workerId !== input.workerId && row.status !== "queued") {
        const [self] = await tx
          .select({ id: alignmentRound.id })
          .from(alignmentRound)
          .where(and(eq(alignmentRound.id, input.roundId), fresh));
        if (self) {
          return { acquired: false as const, reason: `round is running on ${row.workerId}`, round: row };
        }
      }
      const [updated] = await tx
        .update(alignmentRound)
        .set({ workerId: input.workerId, heartbeatAt: sql`now()`, updatedAt: sql`now()` })
        .where(eq(alignmentRound.id, input.roundId))
        .returning();
      return { acquired: true as const, round: mustExist(updated, "alignment_round") };
    }),
  );
}
