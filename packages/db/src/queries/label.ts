// The label drain: claims move votes from the pool into a round's frozen manifest, exactly once.
import { createHash } from "node:crypto";

import { asc, eq, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import type { RoundStatus, VoteValue } from "../enums.ts";
import { InvalidInputError, InvalidStateError, NotFoundError, withDbErrors } from "../errors.ts";
import { image } from "../schema/image.ts";
import { modelVersion } from "../schema/model-version.ts";
import { prompt } from "../schema/prompt.ts";
import { alignmentRound, roundLabel } from "../schema/round.ts";
import { isOneOf } from "./util.ts";

/** One label as a manifest lists it. `labelId` is the feedback_event that set the vote's value. */
export type LabelManifestEntry = {
  labelId: number;
  userId: string;
  imageId: string;
  /** The model version that generated the image (per-variant origin). */
  modelVersionId: string;
  value: VoteValue;
};

export type LabelCounts = { desirable: number; undesirable: number; total: number };

export type LabelManifest = {
  roundId: string;
  /** Every label the round holds, ascending. */
  labelIds: number[];
  /** hashLabelManifest over the same labels. */
  sha256: string;
  counts: LabelCounts;
};

export type ClaimLabelsResult = {
  /** Labels this call claimed (ascending label id). */
  labels: LabelManifestEntry[];
  /** The round's whole manifest after this call (a round may be drained in several limited calls). */
  manifest: LabelManifest;
};

/** Statuses after which a round's claims may be returned to the pool. */
export const RELEASABLE_ROUND_STATUSES = [
  "failed",
  "canceled",
  "rejected",
] as const satisfies readonly RoundStatus[];

/**
 * sha256 (hex) of the canonical manifest text: one line per label, ascending label id,
 * `labelId \t userId \t imageId \t modelVersionId \t value \n`. Anyone holding the labels can recompute it.
 */
export function hashLabelManifest(entries: readonly LabelManifestEntry[]): string {
  const hash = createHash("sha256");
  for (const e of [...entries].sort((a, b) => a.labelId - b.labelId)) {
    hash.update(`${e.labelId}\t${e.userId}\t${e.imageId}\t${e.modelVersionId}\t${e.value}\n`);
  }
  return hash.digest("hex");
}

function countLabels(entries: readonly { value: VoteValue }[]): LabelCounts {
  const desirable = entries.filter((e) => e.value === "like").length;
  return { desirable, undesirable: entries.length - desirable, total: entries.length };
}

// A vote is trainable when unclaimed, its user consented and is neither moderated nor blocked, its image is
// visible, the image came from the round's model family (same resolution and tokenizer), and it does not merely
// repeat the value the pair's latest live or published manifest entry already holds (A → B → A).
function eligibleVote(family: string) {
  return sql`v.round_id is null
    and u.training_consent and not u.excluded_from_training and u.blocked_at is null
    and not i.is_hidden
    and mv.family = ${family}
    and v.value is distinct from (
      select rl.value from round_label rl join alignment_round r on r.id = rl.round_id
      where rl.user_id = v.user_id and rl.image_id = v.image_id
        and r.status not in ('failed', 'canceled', 'rejected')
      order by rl.event_id desc limit 1)`;
}

type LabelRow = {
  labelId: string;
  userId: string;
  imageId: string;
  modelVersionId: string;
  value: VoteValue;
};

// bigint arrives as text from postgres.js; label ids are identity values far below 2^53.
function toEntry(r: LabelRow): LabelManifestEntry {
  return {
    labelId: Number(r.labelId),
    userId: r.userId,
    imageId: r.imageId,
    modelVersionId: r.modelVersionId,
    value: r.value,
  };
}

/**
 * In ONE transaction: claims every eligible unclaimed vote of the round's model family (or the oldest `limit`),
 * copies them into the round's frozen manifest (round_label), and stores class counts + manifest hash on the round.
 * Concurrent claimers skip each other's rows (FOR UPDATE SKIP LOCKED), so no label goes to two rounds.
 * NOT_FOUND for an unknown round; INVALID_STATE unless the round is `draining`.
 */
export async function claimLabelsForRound(
  db: DbOrTx,
  input: { roundId: string; limit?: number },
): Promise<ClaimLabelsResult> {
  if (input.limit !== undefined && !(Number.isInteger(input.limit) && input.limit > 0)) {
    throw new InvalidInputError(`claimLabelsForRound: limit must be a positive integer, got ${input.limit}`);
  }
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const [round] = await tx
        .select({ status: alignmentRound.status, family: modelVersion.family })
        .from(alignmentRound)
        .innerJoin(modelVersion, eq(modelVersion.id, alignmentRound.parentModelVersionId))
        .where(eq(alignmentRound.id, input.roundId))
        .for("update", { of: alignmentRound });
      if (!round) throw new NotFoundError(`round ${input.roundId} not found`, { table: "alignment_round" });
      if (round.status !== "draining") {
        throw new InvalidStateError(
          `round ${input.roundId} is ${round.status}; labels are claimed only while draining`,
        );
      }

      // Row type = the RETURNING list below.
      const claimed = await tx.execute<LabelRow>(sql`
        with pool as (
          select v.user_id, v.image_id
          from vote v
          join "user" u on u.id = v.user_id
          join image i on i.id = v.image_id
          join model_version mv on mv.id = i.model_version_id
          where ${eligibleVote(round.family)}
          order by v.event_id
          limit ${input.limit ?? null}::bigint
          for update of v skip locked
        ), claimed as (
          update vote v set round_id = ${input.roundId}::uuid, claimed_at = now()
          from pool
          where v.user_id = pool.user_id and v.image_id = pool.image_id
          returning v.event_id, v.user_id, v.image_id, v.value
        )
        insert into round_label (round_id, event_id, user_id, image_id, model_version_id, value)
        select ${input.roundId}::uuid, c.event_id, c.user_id, c.image_id, i.model_version_id, c.value
        from claimed c join image i on i.id = c.image_id
        returning event_id::text as "labelId", user_id as "userId", image_id as "imageId",
                  model_version_id as "modelVersionId", value`);

      const all = await tx
        .select({
          labelId: roundLabel.eventId,
          userId: roundLabel.userId,
          imageId: roundLabel.imageId,
          modelVersionId: roundLabel.modelVersionId,
          value: roundLabel.value,
        })
        .from(roundLabel)
        .where(eq(roundLabel.roundId, input.roundId))
        .orderBy(asc(roundLabel.eventId));
      const counts = countLabels(all);
      const sha256 = hashLabelManifest(all);
      await tx
        .update(alignmentRound)
        .set({
          labelCountDesirable: counts.desirable,
          labelCountUndesirable: counts.undesirable,
          manifestSha256: sha256,
          updatedAt: sql`now()`,
        })
        .where(eq(alignmentRound.id, input.roundId));

      const labels = Array.from(claimed, toEntry).sort((a, b) => a.labelId - b.labelId);
      return {
        labels,
        manifest: { roundId: input.roundId, labelIds: all.map((l) => l.labelId), sha256, counts },
      };
    }),
  );
}

/** Returns a round's still-held claims to the pool; run inside the transaction that ends the round. */
export async function releaseClaimsInTx(tx: DbOrTx, roundId: string): Promise<number> {
  const released = await tx.execute(sql`
    update vote set round_id = null, claimed_at = null where round_id = ${roundId}::uuid`);
  await tx
    .update(alignmentRound)
    .set({
      labelsReleasedAt: sql`coalesce(${alignmentRound.labelsReleasedAt}, now())`,
      updatedAt: sql`now()`,
    })
    .where(eq(alignmentRound.id, roundId));
  return released.count;
}

/**
 * Returns a failed, canceled or rejected round's labels to the pool (idempotent: a second call releases 0).
 * The round's manifest rows stay as history. updateRoundStatus does this itself when it ends a round that way.
 * NOT_FOUND for an unknown round; INVALID_STATE while the round is live or once it published (labels consumed).
 */
export async function releaseRoundLabels(
  db: DbOrTx,
  input: { roundId: string },
): Promise<{ roundId: string; released: number }> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const [round] = await tx
        .select({ status: alignmentRound.status })
        .from(alignmentRound)
        .where(eq(alignmentRound.id, input.roundId))
        .for("update");
      if (!round) throw new NotFoundError(`round ${input.roundId} not found`, { table: "alignment_round" });
      if (!isOneOf(RELEASABLE_ROUND_STATUSES, round.status)) {
        throw new InvalidStateError(
          `round ${input.roundId} is ${round.status}; only ${RELEASABLE_ROUND_STATUSES.join("/")} rounds release labels`,
        );
      }
      return { roundId: input.roundId, released: await releaseClaimsInTx(tx, input.roundId) };
    }),
  );
}

/** How many eligible labels wait in the pool for a model family (schedules' "minimum new labels" and balance band). */
export async function countLabelPool(db: DbOrTx, input: { family: string }): Promise<LabelCounts> {
  return withDbErrors(async () => {
    const [row] = await db.execute<{ desirable: number; undesirable: number }>(sql`
      select count(*) filter (where v.value = 'like')::int as desirable,
             count(*) filter (where v.value = 'dislike')::int as undesirable
      from vote v
      join "user" u on u.id = v.user_id
      join image i on i.id = v.image_id
      join model_version mv on mv.id = i.model_version_id
      where ${eligibleVote(input.family)}`);
    const desirable = row?.desirable ?? 0;
    const undesirable = row?.undesirable ?? 0;
    return { desirable, undesirable, total: desirable + undesirable };
  });
}

export type RoundLabel = LabelManifestEntry & {
  promptId: string;
  promptText: string;
  blobKey: string;
  seed: number;
  width: number;
  height: number;
};

/** A round's frozen manifest joined with what training needs (prompt text, blob key), ascending label id. */
export async function listRoundLabels(db: DbOrTx, input: { roundId: string }): Promise<RoundLabel[]> {
  return withDbErrors(() =>
    db
      .select({
        labelId: roundLabel.eventId,
        userId: roundLabel.userId,
        imageId: roundLabel.imageId,
        modelVersionId: roundLabel.modelVersionId,
        value: roundLabel.value,
        promptId: image.promptId,
        promptText: prompt.text,
        blobKey: image.blobKey,
        seed: image.seed,
        width: image.width,
        height: image.height,
      })
      .from(roundLabel)
      .innerJoin(image, eq(image.id, roundLabel.imageId))
      .innerJoin(prompt, eq(prompt.id, image.promptId))
      .where(eq(roundLabel.roundId, input.roundId))
      .orderBy(asc(roundLabel.eventId)),
  );
}
