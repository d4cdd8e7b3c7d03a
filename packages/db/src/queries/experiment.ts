import { and, asc, desc, eq, inArray, ne, sql } from "drizzle-orm";

import type { Db, DbOrTx } from "../client.ts";
import {
  ConflictError,
  DbError,
  InvalidInputError,
  InvalidStateError,
  NotFoundError,
  retryOnConflict,
  UnavailableError,
  withDbErrors,
} from "../errors.ts";
import { assignment, experiment, experimentEvent, variant } from "../schema/experiment.ts";
import { modelVersion } from "../schema/model-version.ts";
import { MODEL_VERSION_CHANNEL, setProductionAlias } from "./model-version.ts";
import { listServingHosts, type ServingHostRow } from "./registry.ts";
import { mustExist } from "./util.ts";

export type Experiment = typeof experiment.$inferSelect;
export type Variant = typeof variant.$inferSelect;
export type Assignment = typeof assignment.$inferSelect;
export type ExperimentWithVariants = Experiment & { variants: Variant[] };
export type ExperimentEvent = typeof experimentEvent.$inferSelect;
export type ExperimentEventKind = ExperimentEvent["kind"];

/** A population slice [from, to) in percent of the shared population hash space. */
export type PopulationSlice = { from: number; to: number };

export function populationSliceOf(
  exp: Pick<Experiment, "populationOffset" | "populationPercent">,
): PopulationSlice {
  return { from: exp.populationOffset, to: exp.populationOffset + exp.populationPercent };
}

const formatSlice = (s: PopulationSlice) => `${+s.from.toFixed(2)}–${+s.to.toFixed(2)}%`;

/**
 * Thrown when an experiment would start while another one runs on an overlapping population slice: at most one
 * running experiment per rater, so two experiments run at once only when they are mutually exclusive (disjoint
 * slices). Code CONFLICT; `blocking` names the experiments in the way.
 */
export class PopulationOverlapError extends ConflictError {
  readonly blocking: { id: string; name: string; slice: PopulationSlice }[];
  constructor(name: string, slice: PopulationSlice, blocking: PopulationOverlapError["blocking"]) {
    super(
      `experiment ${name} (population ${formatSlice(slice)}) overlaps ${blocking
        .map((b) => `running experiment ${b.name} (${formatSlice(b.slice)})`)
        .join(
          ", ",
        )}: stop it first, or give this experiment a disjoint population slice (mutually exclusive)`,
      { constraint: "experiment_population_exclusive", table: "experiment" },
    );
    this.blocking = blocking;
  }
}

export type CreateExperimentInput = {
  name: string;
  hypothesis?: string;
  populationPercent?: number;
  /** Start of its population slice (default 0): [offset, offset + populationPercent) must lie within 0–100. */
  populationOffset?: number;
  primaryMetric?: string;
  guardrails?: unknown[];
  minSamplePerVariant?: number;
  minDurationSeconds?: number;
  decisionRule?: Record<string, unknown>;
  createdBy?: string | null;
  variants: { name: string; modelVersionId: string; weight: number; isControl?: boolean }[];
};

/**
 * Creates a draft experiment with its variants in one transaction. INVALID_INPUT unless there are ≥ 2 variants and
 * exactly one control; CONFLICT for a taken name; NOT_FOUND for an unknown model version.
 */
export async function createExperiment(
  db: DbOrTx,
  input: CreateExperimentInput,
): Promise<ExperimentWithVariants> {
  const controls = input.variants.filter((v) => v.isControl).length;
  if (input.variants.length < 2 || controls !== 1) {
    throw new InvalidInputError(
      `an experiment needs at least 2 variants and exactly one control (got ${input.variants.length} and ${controls})`,
    );
  }
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const [row] = await tx
        .insert(experiment)
        .values({
          name: input.name,
          hypothesis: input.hypothesis,
          populationPercent: input.populationPercent,
          populationOffset: input.populationOffset,
          primaryMetric: input.primaryMetric,
          guardrails: input.guardrails,
          minSamplePerVariant: input.minSamplePerVariant,
          minDurationSeconds: input.minDurationSeconds,
          decisionRule: input.decisionRule,
          createdBy: input.createdBy ?? null,
        })
        .returning();
      const exp = mustExist(row, "experiment");
      const variants = await tx
        .insert(variant)
        .values(input.variants.map((v) => ({ ...v, isControl: v.isControl ?? false, experimentId: exp.id })))
        .returning();
      return { ...exp, variants };
    }),
  );
}

/** The experiment row, locked FOR UPDATE for the rest of the transaction; NotFoundError when absent. */
async function lockExperiment(tx: DbOrTx, experimentId: string): Promise<Experiment> {
  const [exp] = await tx.select().from(experiment).where(eq(experiment.id, experimentId)).for("update");
  if (!exp) throw new NotFoundError(`experiment ${experimentId} not found`, { table: "experiment" });
  return exp;
}

export async function getExperiment(db: DbOrTx, experimentId: string): Promise<ExperimentWithVariants> {
  return withDbErrors(async () => {
    const [row] = await db.select().from(experiment).where(eq(experiment.id, experimentId));
    if (!row) throw new NotFoundError(`experiment ${experimentId} not found`, { table: "experiment" });
    const variants = await db
      .select()
      .from(variant)
      .where(eq(variant.experimentId, experimentId))
      .orderBy(asc(variant.createdAt), asc(variant.name));
    return { ...row, variants };
  });
}

/** Running experiments with their variants: the feed's assignment input and the generation pool's active versions. */
export async function listRunningExperiments(db: DbOrTx): Promise<ExperimentWithVariants[]> {
  return withDbErrors(async () => {
    const exps = await db
      .select()
      .from(experiment)
      .where(eq(experiment.status, "running"))
      .orderBy(asc(experiment.startedAt));
    if (exps.length === 0) return [];
    const vs = await db
      .select()
      .from(variant)
      .where(
        inArray(
          variant.experimentId,
          exps.map((e) => e.id),
        ),
      )
      .orderBy(asc(variant.createdAt), asc(variant.name));
    return exps.map((e) => ({ ...e, variants: vs.filter((v) => v.experimentId === e.id) }));
  });
}

/**
 * draft → starting: its versions join the serving target (NOTIFY on commit, so every model host starts loading
 * them at once), but nobody is assigned until `startExperiment` moves it to running. Same checks as a start.
 */
export async function beginExperimentStart(
  db: DbOrTx,
  input: { experimentId: string; actorId?: string | null },
): Promise<Experiment> {
  return transition(db, input, ["draft"], "starting");
}

/** starting → draft: the hosts did not become ready in time; its versions leave the serving target again. */
export async function abortExperimentStart(db: DbOrTx, input: { experimentId: string }): Promise<Experiment> {
  return withDbErrors(async () => {
    const [row] = await db
      .update(experiment)
      .set({ status: "draft", startedAt: null, updatedAt: sql`now()` })
      .where(and(eq(experiment.id, input.experimentId), eq(experiment.status, "starting")))
      .returning();
    if (!row) {
      const exp = await getExperiment(db, input.experimentId);
      throw new InvalidStateError(
        `experiment ${exp.name} is ${exp.status}; only a starting experiment aborts`,
      );
    }
    await notifyExperiment(db, row);
    return row;
  });
}

/**
 * draft | starting → running (the clock and phase 1 start now; audited as "started"). INVALID_STATE unless the
 * experiment has exactly one control, a positive total weight, and only registered model versions (serving must be
 * able to load them); PopulationOverlapError (CONFLICT) while another experiment runs on an overlapping slice.
 */
export async function startExperiment(
  db: DbOrTx,
  input: { experimentId: string; actorId?: string | null; reason?: string },
): Promise<Experiment> {
  return transition(db, input, ["draft", "starting"], "running");
}

async function transition(
  db: DbOrTx,
  input: { experimentId: string; actorId?: string | null; reason?: string },
  from: readonly Experiment["status"][],
  to: "starting" | "running",
): Promise<Experiment> {
  // Concurrent starts of overlapping slices can deadlock on the exclusion constraint's index; the server aborts one,
  // whose retry then finds the winner running and refuses with PopulationOverlapError.
  return retryOnConflict(() =>
    withDbErrors(() =>
      db.transaction(async (tx) => {
        const exp = await lockExperiment(tx, input.experimentId);
        if (!from.includes(exp.status))
          throw new InvalidStateError(
            `experiment ${exp.name} is ${exp.status}; only ${from.join(" or ")} experiments move to ${to}`,
          );
        const vs = await tx
          .select({
            isControl: variant.isControl,
            weight: variant.weight,
            status: modelVersion.status,
            versionId: modelVersion.id,
          })
          .from(variant)
          .innerJoin(modelVersion, eq(modelVersion.id, variant.modelVersionId))
          .where(eq(variant.experimentId, exp.id))
          .for("share", { of: modelVersion });
        if (vs.filter((v) => v.isControl).length !== 1)
          throw new InvalidStateError(`experiment ${exp.name} needs exactly one control`);
        if (vs.reduce((s, v) => s + v.weight, 0) <= 0)
          throw new InvalidStateError(`experiment ${exp.name} has no traffic weight`);
        const unservable = vs.filter((v) => v.status !== "registered");
        if (unservable.length > 0) {
          throw new InvalidStateError(
            `experiment ${exp.name}: model versions ${unservable.map((v) => `${v.versionId} (${v.status})`).join(", ")} are not registered`,
          );
        }
        const slice = populationSliceOf(exp);
        const overlapping = await tx
          .select({
            id: experiment.id,
            name: experiment.name,
            populationOffset: experiment.populationOffset,
            populationPercent: experiment.populationPercent,
          })
          .from(experiment)
          .where(
            and(
              ne(experiment.id, exp.id),
              inArray(experiment.status, ["starting", "running"]),
              sql`${experiment.populationOffset} < ${slice.to}`,
              sql`${experiment.populationOffset} + ${experiment.populationPercent} > ${slice.from}`,
            ),
          );
        const blocking = overlapping.map((o) => ({ id: o.id, name: o.name, slice: populationSliceOf(o) }));
        if (blocking.length > 0) throw new PopulationOverlapError(exp.name, slice, blocking);
        let row: Experiment | undefined;
        try {
          [row] = await tx
            .update(experiment)
            .set({
              status: to,
              startedAt: sql`now()`,
              updatedAt: sql`now()`,
              ...(to === "running" ? { phase: 1, phaseStartedAt: sql`now()` } : {}),
            })
            .where(eq(experiment.id, exp.id))
            .returning();
        } catch (e) {
          // A concurrent start won the slice between our check and this update (the exclusion constraint decided).
          if (findConstraint(e) === "experiment_population_exclusive")
            throw new PopulationOverlapError(exp.name, slice, [
              { id: "?", name: "(started concurrently)", slice },
            ]);
          throw e;
        }
        const moved = mustExist(row, "experiment");
        if (to === "running")
          await recordExperimentEvent(tx, {
            experimentId: exp.id,
            kind: "started",
            actorId: input.actorId ?? null,
            reason: input.reason ?? "",
            details: { population: slice },
          });
        await notifyExperiment(tx, moved);
        return moved;
      }),
    ),
  );
}

/**
 * running → stopped: no new assignments or exposures under it; its data stays for the decision. Audited ("stopped",
 * or "auto_stopped" with the reason and the numbers when the guardrail monitor stops it). Exactly one of several
 * concurrent stoppers wins; the others get INVALID_STATE.
 */
export async function stopExperiment(
  db: DbOrTx,
  input: {
    experimentId: string;
    actorId?: string | null;
    reason?: string;
    /** Set by the automatic guardrail stop: recorded as "auto_stopped" with these details. */
    auto?: Record<string, unknown>;
  },
): Promise<Experiment> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const [row] = await tx
        .update(experiment)
        .set({ status: "stopped", stoppedAt: sql`now()`, updatedAt: sql`now()` })
        .where(and(eq(experiment.id, input.experimentId), eq(experiment.status, "running")))
        .returning();
      if (row) {
        await recordExperimentEvent(tx, {
          experimentId: row.id,
          kind: input.auto ? "auto_stopped" : "stopped",
          actorId: input.actorId ?? null,
          reason: input.reason ?? "",
          details: input.auto ?? {},
        });
        await notifyExperiment(tx, row);
        return row;
      }
      const exp = await getExperiment(tx, input.experimentId);
      throw new InvalidStateError(`experiment ${exp.name} is ${exp.status}; only running experiments stop`);
    }),
  );
}

/**
 * Starts a new phase of a running experiment: everyone is assigned afresh (the next phase hashes users with a new
 * seed) and metrics, the sample-ratio check and the minimum duration count from now. Earlier phases' assignments
 * stay as history. Unlike a weight change, which keeps assigned users where they are. Audited ("phase", with
 * `details`, e.g. the closing phase's sample-ratio check). INVALID_STATE unless running.
 */
export async function startExperimentPhase(
  db: DbOrTx,
  input: { experimentId: string; actorId: string | null; reason: string; details?: Record<string, unknown> },
): Promise<Experiment> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const [row] = await tx
        .update(experiment)
        .set({
          phase: sql`${experiment.phase} + 1`,
          phaseStartedAt: sql`now()`,
          weightsChangedAt: null,
          updatedAt: sql`now()`,
        })
        .where(and(eq(experiment.id, input.experimentId), eq(experiment.status, "running")))
        .returning();
      if (!row) {
        const exp = await getExperiment(tx, input.experimentId);
        throw new InvalidStateError(
          `experiment ${exp.name} is ${exp.status}; only a running experiment starts a new phase`,
        );
      }
      await recordExperimentEvent(tx, {
        experimentId: row.id,
        kind: "phase",
        actorId: input.actorId,
        reason: input.reason,
        details: { ...input.details, phase: row.phase },
      });
      return row;
    }),
  );
}

async function recordExperimentEvent(
  db: DbOrTx,
  e: {
    experimentId: string;
    kind: ExperimentEventKind;
    actorId: string | null;
    reason: string;
    details: Record<string, unknown>;
  },
): Promise<void> {
  await db.insert(experimentEvent).values(e);
}

/** An experiment's audit log, oldest first. */
export async function listExperimentEvents(
  db: DbOrTx,
  input: { experimentId: string },
): Promise<ExperimentEvent[]> {
  return withDbErrors(() =>
    db
      .select()
      .from(experimentEvent)
      .where(eq(experimentEvent.experimentId, input.experimentId))
      .orderBy(asc(experimentEvent.at), asc(experimentEvent.id)),
  );
}

/** The gaps of the population space that no starting or running experiment occupies, in order. */
export async function listFreePopulationSlices(db: DbOrTx): Promise<PopulationSlice[]> {
  return withDbErrors(async () => {
    const taken = (
      await db
        .select({
          populationOffset: experiment.populationOffset,
          populationPercent: experiment.populationPercent,
        })
        .from(experiment)
        .where(inArray(experiment.status, ["starting", "running"]))
    )
      .map(populationSliceOf)
      .sort((a, b) => a.from - b.from);
    const free: PopulationSlice[] = [];
    let from = 0;
    for (const t of taken) {
      if (t.from > from) free.push({ from, to: t.from });
      from = Math.max(from, t.to);
    }
    if (from < 100) free.push({ from, to: 100 });
    return free;
  });
}

/**
 * The lowest population slice of `percent` that overlaps no starting or running experiment (so an experiment there
 * is mutually exclusive with all of them), or null when no such gap is left.
 */
export async function findFreePopulationSlice(db: DbOrTx, percent: number): Promise<PopulationSlice | null> {
  const gap = (await listFreePopulationSlices(db)).find((g) => g.to - g.from >= percent);
  return gap ? { from: gap.from, to: gap.from + percent } : null;
}

function findConstraint(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 5; cur = cur.cause, depth++) {
    if (cur instanceof DbError && cur.constraint) return cur.constraint;
    const c = (cur as { constraint_name?: unknown }).constraint_name;
    if (typeof c === "string") return c;
  }
  return undefined;
}

/**
 * Sticky assignment: persists (experiment, user) → variant on first exposure; later calls, whatever variant they
 * propose (e.g. after a weight change), get the stored one. INVALID_STATE unless the experiment is running;
 * NOT_FOUND for a variant of another experiment.
 */
export async function assignVariant(
  db: DbOrTx,
  input: { experimentId: string; userId: string; variantId: string },
): Promise<Assignment & { isNew: boolean }> {
  return withDbErrors(async () => {
    const [exp] = await db
      .select({ status: experiment.status, phase: experiment.phase })
      .from(experiment)
      .where(eq(experiment.id, input.experimentId));
    if (!exp) throw new NotFoundError(`experiment ${input.experimentId} not found`, { table: "experiment" });
    const key = and(
      eq(assignment.experimentId, input.experimentId),
      eq(assignment.phase, exp.phase),
      eq(assignment.userId, input.userId),
    );
    if (exp.status !== "running") {
      throw new InvalidStateError(
        `experiment ${input.experimentId} is ${exp.status}; users are assigned only while it runs`,
      );
    }
    const [inserted] = await db
      .insert(assignment)
      .values({ ...input, phase: exp.phase })
      .onConflictDoNothing()
      .returning();
    if (inserted) return { ...inserted, isNew: true };
    // A separate statement: it sees the row a concurrent winner just committed.
    const [existing] = await db.select().from(assignment).where(key);
    return { ...mustExist(existing, "assignment"), isNew: false };
  });
}

/** The user's assignment in the experiment's current phase (or in `phase`). */
export async function findAssignment(
  db: DbOrTx,
  input: { experimentId: string; userId: string; phase?: number },
): Promise<Assignment | null> {
  return withDbErrors(async () => {
    const phase =
      input.phase ??
      sql`(select ${experiment.phase} from ${experiment} where ${experiment.id} = ${input.experimentId})`;
    const [row] = await db
      .select()
      .from(assignment)
      .where(
        and(
          eq(assignment.experimentId, input.experimentId),
          eq(assignment.userId, input.userId),
          eq(assignment.phase, phase),
        ),
      );
    return row ?? null;
  });
}

/** Tells serving hosts (modelRegistryFeed re-reads its target on this channel) that the active versions changed. */
async function notifyExperiment(db: DbOrTx, exp: Experiment): Promise<void> {
  const payload = JSON.stringify({ experimentId: exp.id, status: exp.status });
  await db.execute(sql`select pg_notify(${MODEL_VERSION_CHANNEL}, ${payload})`);
}

/**
 * Changes traffic weights (draft or running). Existing assignments stay where they are (sticky); only users not yet
 * assigned are bucketed by the new weights. On a running experiment this starts a new sample-ratio phase
 * (`weightsChangedAt`): the SRM check compares users assigned since then with the new weights, so the old split
 * does not raise a false alarm. INVALID_INPUT for unknown variants, negative weights or an all-zero total.
 */
export async function setVariantWeights(
  db: DbOrTx,
  input: { experimentId: string; weights: Record<string, number>; actorId?: string | null },
): Promise<ExperimentWithVariants> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const exp = await lockExperiment(tx, input.experimentId);
      if (exp.status !== "draft" && exp.status !== "running")
        throw new InvalidStateError(
          `experiment ${exp.name} is ${exp.status}; weights change only in draft or running`,
        );
      const vs = await tx.select().from(variant).where(eq(variant.experimentId, exp.id));
      const unknown = Object.keys(input.weights).filter((id) => !vs.some((v) => v.id === id));
      if (unknown.length > 0)
        throw new InvalidInputError(`not variants of ${exp.name}: ${unknown.join(", ")}`);
      const next = vs.map((v) => input.weights[v.id] ?? v.weight);
      if (next.some((w) => !(w >= 0)) || next.reduce((a, b) => a + b, 0) <= 0)
        throw new InvalidInputError("weights must be non-negative with a positive total");
      for (const v of vs) {
        const w = input.weights[v.id];
        if (w !== undefined && w !== v.weight)
          await tx.update(variant).set({ weight: w }).where(eq(variant.id, v.id));
      }
      const [row] = await tx
        .update(experiment)
        .set({ updatedAt: sql`now()`, ...(exp.status === "running" ? { weightsChangedAt: sql`now()` } : {}) })
        .where(eq(experiment.id, exp.id))
        .returning();
      if (exp.status === "running")
        await recordExperimentEvent(tx, {
          experimentId: exp.id,
          kind: "weights",
          actorId: input.actorId ?? null,
          reason: "assigned users keep their variant; the sample-ratio check restarts",
          details: {
            weights: Object.fromEntries(
              vs.map((v) => [v.name, { from: v.weight, to: input.weights[v.id] ?? v.weight }]),
            ),
          },
        });
      const variants = await tx
        .select()
        .from(variant)
        .where(eq(variant.experimentId, exp.id))
        .orderBy(asc(variant.createdAt), asc(variant.name));
      return { ...mustExist(row, "experiment"), variants };
    }),
  );
}

/** Every experiment with its variants, newest first. */
export async function listExperiments(
  db: DbOrTx,
  input: { limit?: number } = {},
): Promise<ExperimentWithVariants[]> {
  return withDbErrors(async () => {
    const exps = await db
      .select()
      .from(experiment)
      .orderBy(desc(experiment.createdAt))
      .limit(input.limit ?? 200);
    if (exps.length === 0) return [];
    const vs = await db
      .select()
      .from(variant)
      .where(
        inArray(
          variant.experimentId,
          exps.map((e) => e.id),
        ),
      )
      .orderBy(asc(variant.createdAt), asc(variant.name));
    return exps.map((e) => ({ ...e, variants: vs.filter((v) => v.experimentId === e.id) }));
  });
}

export type ExperimentDecisionInput = {
  experimentId: string;
  /** promote: production moves to `variantId`'s version; rollback: production stays on (or returns to) control. */
  action: "promote" | "rollback";
  variantId?: string;
  actorId: string | null;
  reason: string;
  /** The numbers the decision was taken on (stored with it). */
  evidence?: Record<string, unknown>;
};

/**
 * Ends a running or stopped experiment with a decision, in one transaction: moves the production alias (audited,
 * NOTIFY on commit) to the promoted variant's version — or, for a rollback, to control's version when production
 * is elsewhere — and records who/why/evidence on the experiment (status decided). INVALID_STATE for other
 * statuses; INVALID_INPUT for a promote without a variant of this experiment.
 */
export async function decideExperiment(
  db: DbOrTx,
  input: ExperimentDecisionInput,
): Promise<ExperimentWithVariants> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const exp = await lockExperiment(tx, input.experimentId);
      if (exp.status !== "running" && exp.status !== "stopped")
        throw new InvalidStateError(
          `experiment ${exp.name} is ${exp.status}; only running or stopped experiments are decided`,
        );
      const vs = await tx.select().from(variant).where(eq(variant.experimentId, exp.id));
      const control = vs.find((v) => v.isControl);
      if (!control) throw new InvalidStateError(`experiment ${exp.name} has no control`);
      const target = input.action === "promote" ? vs.find((v) => v.id === input.variantId) : control;
      if (!target)
        throw new InvalidInputError(
          `promote needs a variant of experiment ${exp.name} (got ${input.variantId ?? "none"})`,
        );
      const move = await setProductionAlias(tx, {
        modelVersionId: target.modelVersionId,
        actorId: input.actorId,
        kind: input.action === "promote" ? "promote" : "rollback",
        reason: `experiment ${exp.name}: ${input.action} — ${input.reason}`,
      });
      const decision = {
        action: input.action,
        variantId: target.id,
        variantName: target.name,
        modelVersionId: target.modelVersionId,
        previousProduction: move.previousModelVersionId,
        productionMoved: move.changed,
        actorId: input.actorId,
        reason: input.reason,
        evidence: input.evidence ?? {},
      };
      const [row] = await tx
        .update(experiment)
        .set({
          status: "decided",
          decision,
          decidedAt: sql`now()`,
          stoppedAt: sql`coalesce(${experiment.stoppedAt}, now())`,
          updatedAt: sql`now()`,
        })
        .where(eq(experiment.id, exp.id))
        .returning();
      const decided = mustExist(row, "experiment");
      await recordExperimentEvent(tx, {
        experimentId: exp.id,
        kind: "decided",
        actorId: input.actorId,
        reason: input.reason,
        details: { action: input.action, variantName: target.name, modelVersionId: target.modelVersionId },
      });
      await notifyExperiment(tx, decided);
      return { ...decided, variants: vs };
    }),
  );
}

/** Per-variant sums over users of per-user counts (and their squares/cross-products, for delta-method variances). */
export type VariantMetricSums = {
  variantId: string;
  /** Users assigned (the randomisation unit; users without exposures or votes included). */
  users: number;
  /** Users assigned since the last weight change of the phase (all its users when none): the SRM input. */
  usersInPhase: number;
  /** Users with at least one vote on an image shown to them under the experiment. */
  voters: number;
  exposures: number;
  votes: number;
  likes: number;
  exposures2: number;
  votes2: number;
  likes2: number;
  likesVotes: number;
  likesExposures: number;
  /** On-demand generations of the variant's version by its users: requests, failed, finished with a latency. */
  generations: number;
  generationFailures: number;
  generations2: number;
  generationFailures2: number;
  generationFailuresGenerations: number;
  latencyMs: number;
  latencyMs2: number;
  latencyCount: number;
  latencyCount2: number;
  latencyMsCount: number;
};

/**
 * Per-variant metric sums of an experiment as of `until` (default now), windowed by *exposure* time: a user counts
 * from their assignment, an exposure when it was shown before `until`, and a vote when it is on an image shown to
 * that user under the experiment before `until` — whenever the vote itself arrived. So a late vote fills in the
 * exposure it belongs to instead of shifting counts between days, and user counts (the SRM input) never depend on
 * votes. Generations count when requested before `until`.
 */
export async function getExperimentMetrics(
  db: DbOrTx,
  input: { experimentId: string; until?: Date; phase?: number },
): Promise<VariantMetricSums[]> {
  const at = (input.until ?? new Date()).toISOString();
  const until = sql`${at}::timestamptz`;
  return withDbErrors(async () => {
    const [exp] = await db
      .select({ phase: experiment.phase, phaseStartedAt: experiment.phaseStartedAt })
      .from(experiment)
      .where(eq(experiment.id, input.experimentId));
    if (!exp) throw new NotFoundError(`experiment ${input.experimentId} not found`, { table: "experiment" });
    const phase = input.phase ?? exp.phase;
    // A past phase's window ends where the next began (its "phase" event); the current one runs from phaseStartedAt.
    const [from, to] = await phaseWindow(db, input.experimentId, phase, exp);
    const since = sql`${from ? from.toISOString() : "-infinity"}::timestamptz`;
    const before = to && to < (input.until ?? new Date()) ? sql`${to.toISOString()}::timestamptz` : until;
    const rows = await db.execute<Record<string, string | number>>(sql`
      with u as (
        select a.variant_id, a.user_id, v.model_version_id, a.first_exposed_at
          from assignment a join variant v on v.id = a.variant_id
         where a.experiment_id = ${input.experimentId} and a.phase = ${phase} and a.first_exposed_at < ${before}
      ), shown as (
        select distinct e.user_id, e.image_id
          from exposure e join u on u.user_id = e.user_id and u.variant_id = e.variant_id
         where e.experiment_id = ${input.experimentId} and e.shown_at >= ${since} and e.shown_at < ${before}
      ), per_user as (
        select u.variant_id, u.user_id, u.first_exposed_at,
               (select count(*) from exposure e
                 where e.experiment_id = ${input.experimentId} and e.user_id = u.user_id and e.variant_id = u.variant_id
                   and e.shown_at >= ${since} and e.shown_at < ${before})::float8 as x,
               coalesce(vv.votes, 0)::float8 as n, coalesce(vv.likes, 0)::float8 as l,
               coalesce(g.reqs, 0)::float8 as gr, coalesce(g.fails, 0)::float8 as gf,
               coalesce(g.lat, 0)::float8 as lat, coalesce(g.latn, 0)::float8 as latn
          from u
          left join lateral (
            select count(*) as votes, count(*) filter (where vt.value = 'like') as likes
              from shown s join vote vt on vt.user_id = s.user_id and vt.image_id = s.image_id
             where s.user_id = u.user_id
          ) vv on true
          left join lateral (
            select count(*) as reqs, count(*) filter (where r.status = 'failed') as fails,
                   sum(extract(epoch from (r.finished_at - r.created_at)) * 1000) filter (where r.status = 'done') as lat,
                   count(*) filter (where r.status = 'done' and r.finished_at is not null) as latn
              from generation_request r
             where r.user_id = u.user_id and r.requested_model_version_id = u.model_version_id
               and r.created_at < ${before}
               and r.created_at >= coalesce(${from ? from.toISOString() : null}::timestamptz,
                                            (select started_at from experiment where id = ${input.experimentId}))
          ) g on true
      )
      select v.id as "variantId",
             count(p.user_id)::int as users,
             count(p.user_id) filter (where ${phase !== exp.phase} or p.first_exposed_at >= coalesce(
               (select weights_changed_at from experiment where id = ${input.experimentId}), '-infinity'))::int as "usersInPhase",
             count(p.user_id) filter (where p.n > 0)::int as voters,
             coalesce(sum(p.x), 0) as exposures, coalesce(sum(p.n), 0) as votes, coalesce(sum(p.l), 0) as likes,
             coalesce(sum(p.x * p.x), 0) as exposures2, coalesce(sum(p.n * p.n), 0) as votes2,
             coalesce(sum(p.l * p.l), 0) as likes2, coalesce(sum(p.l * p.n), 0) as "likesVotes",
             coalesce(sum(p.l * p.x), 0) as "likesExposures",
             coalesce(sum(p.gr), 0) as generations, coalesce(sum(p.gf), 0) as "generationFailures",
             coalesce(sum(p.gr * p.gr), 0) as generations2, coalesce(sum(p.gf * p.gf), 0) as "generationFailures2",
             coalesce(sum(p.gf * p.gr), 0) as "generationFailuresGenerations",
             coalesce(sum(p.lat), 0) as "latencyMs", coalesce(sum(p.lat * p.lat), 0) as "latencyMs2",
             coalesce(sum(p.latn), 0) as "latencyCount", coalesce(sum(p.latn * p.latn), 0) as "latencyCount2",
             coalesce(sum(p.lat * p.latn), 0) as "latencyMsCount"
        from variant v left join per_user p on p.variant_id = v.id
       where v.experiment_id = ${input.experimentId}
       group by v.id, v.created_at, v.name
       order by v.created_at, v.name`);
    const n = (r: Record<string, string | number>, k: string) => Number(r[k] ?? 0);
    return rows.map((r) => ({
      variantId: String(r.variantId),
      users: n(r, "users"),
      usersInPhase: n(r, "usersInPhase"),
      voters: n(r, "voters"),
      exposures: n(r, "exposures"),
      votes: n(r, "votes"),
      likes: n(r, "likes"),
      exposures2: n(r, "exposures2"),
      votes2: n(r, "votes2"),
      likes2: n(r, "likes2"),
      likesVotes: n(r, "likesVotes"),
      likesExposures: n(r, "likesExposures"),
      generations: n(r, "generations"),
      generationFailures: n(r, "generationFailures"),
      generations2: n(r, "generations2"),
      generationFailures2: n(r, "generationFailures2"),
      generationFailuresGenerations: n(r, "generationFailuresGenerations"),
      latencyMs: n(r, "latencyMs"),
      latencyMs2: n(r, "latencyMs2"),
      latencyCount: n(r, "latencyCount"),
      latencyCount2: n(r, "latencyCount2"),
      latencyMsCount: n(r, "latencyMsCount"),
    }));
  });
}

/** [start, end) of a phase: end null for the current one. INVALID_INPUT for a phase that has not started. */
async function phaseWindow(
  db: DbOrTx,
  experimentId: string,
  phase: number,
  exp: { phase: number; phaseStartedAt: Date | null },
): Promise<[Date | null, Date | null]> {
  if (!(Number.isInteger(phase) && phase >= 1 && phase <= exp.phase))
    throw new InvalidInputError(`phase ${phase} does not exist (current phase ${exp.phase})`);
  const starts = new Map<number, Date>();
  for (const e of await db
    .select({ at: experimentEvent.at, details: experimentEvent.details })
    .from(experimentEvent)
    .where(and(eq(experimentEvent.experimentId, experimentId), eq(experimentEvent.kind, "phase")))) {
    const p = e.details.phase;
    if (typeof p === "number") starts.set(p, e.at);
  }
  const startOf = (p: number): Date | null =>
    p === exp.phase ? exp.phaseStartedAt : p === 1 ? null : (starts.get(p) ?? null);
  return [startOf(phase), phase === exp.phase ? null : (starts.get(phase + 1) ?? null)];
}

export type HostWaitOptions = {
  /** Give up (and put the experiment back to draft) after this long. */
  timeoutMs: number;
  pollMs: number;
  /** A host counts when it reported within this window. */
  seenWithinMs: number;
  /** Only hosts of these kinds (e.g. "trainer"); all kinds when omitted. */
  hostKinds?: readonly string[];
};

export type HostReadiness = {
  hostId: string;
  kind: string;
  ready: string[];
  pending: string[];
  failed: string[];
};

/** Which of `versionIds` a serving host reports ready, still loading, or refused (its heartbeat's status). */
export function hostReadiness(host: ServingHostRow, versionIds: readonly string[]): HostReadiness {
  const raw = (host.status as { versions?: unknown }).versions;
  const versions = Array.isArray(raw) ? (raw as unknown[]) : [];
  const state = (id: string): string | undefined => {
    for (const v of versions)
      if (typeof v === "object" && v !== null && "id" in v && v.id === id && "state" in v)
        return typeof v.state === "string" ? v.state : undefined;
    return undefined;
  };
  return {
    hostId: host.id,
    kind: host.kind,
    ready: versionIds.filter((id) => state(id) === "ready"),
    pending: versionIds.filter((id) => state(id) !== "ready" && state(id) !== "failed"),
    failed: versionIds.filter((id) => state(id) === "failed"),
  };
}

/**
 * Starts an experiment so that no user is assigned before its versions serve: draft → starting (NOTIFY: the hosts
 * load its versions at once), wait until every live serving host reports each version ready, then running. A host
 * that refuses a version (INVALID_STATE) or a timeout (UNAVAILABLE) puts it back to draft, naming hosts and
 * versions. With no live host there is nothing to wait for (hosts load the target when they come up). The web's
 * start button and a round's "experiment at N%" policy both start experiments through this.
 */
export async function startExperimentWhenServed(
  db: Db,
  input: { experimentId: string; actorId?: string | null; reason?: string } & HostWaitOptions,
): Promise<{ experiment: Experiment; hosts: HostReadiness[] }> {
  const { experimentId } = input;
  await beginExperimentStart(db, { experimentId });
  try {
    const exp = await getExperiment(db, experimentId);
    const versionIds = [...new Set(exp.variants.map((v) => v.modelVersionId))];
    const deadline = Date.now() + input.timeoutMs;
    for (;;) {
      const hosts = (await listServingHosts(db, { seenWithinMs: input.seenWithinMs }))
        .filter((h) => !input.hostKinds || input.hostKinds.includes(h.kind))
        .map((h) => hostReadiness(h, versionIds));
      const failed = hosts.filter((h) => h.failed.length > 0);
      if (failed.length > 0) {
        throw new InvalidStateError(
          `serving hosts could not load the experiment's versions: ${failed.map((h) => `${h.hostId} (${h.failed.join(", ")})`).join("; ")}; the experiment stays a draft`,
        );
      }
      if (hosts.every((h) => h.pending.length === 0)) {
        return {
          experiment: await startExperiment(db, {
            experimentId,
            actorId: input.actorId,
            reason: input.reason,
          }),
          hosts,
        };
      }
      if (Date.now() >= deadline) {
        const pending = hosts.filter((h) => h.pending.length > 0);
        throw new UnavailableError(
          `serving hosts not ready after ${Math.round(input.timeoutMs / 1000)} s: ${pending.map((h) => `${h.hostId} still loading ${h.pending.join(", ")}`).join("; ")}; the experiment stays a draft`,
        );
      }
      await new Promise((r) => setTimeout(r, input.pollMs));
    }
  } catch (e) {
    await abortExperimentStart(db, { experimentId }).catch(() => undefined);
    throw e;
  }
}
