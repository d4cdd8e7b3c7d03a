import { and, asc, eq, inArray, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import { InvalidInputError, InvalidStateError, NotFoundError, withDbErrors } from "../errors.ts";
import { assignment, experiment, variant } from "../schema/experiment.ts";
import { modelVersion } from "../schema/model-version.ts";
import { mustExist } from "./util.ts";

export type Experiment = typeof experiment.$inferSelect;
export type Variant = typeof variant.$inferSelect;
export type Assignment = typeof assignment.$inferSelect;
export type ExperimentWithVariants = Experiment & { variants: Variant[] };

export type CreateExperimentInput = {
  name: string;
  hypothesis?: string;
  populationPercent?: number;
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
 * draft → running. INVALID_STATE unless the experiment is a draft with exactly one control, a positive total weight,
 * and only registered model versions (serving must be able to load them).
 */
export async function startExperiment(db: DbOrTx, input: { experimentId: string }): Promise<Experiment> {
  return withDbErrors(() =>
    db.transaction(async (tx) => {
      const [exp] = await tx
        .select()
        .from(experiment)
        .where(eq(experiment.id, input.experimentId))
        .for("update");
      if (!exp)
        throw new NotFoundError(`experiment ${input.experimentId} not found`, { table: "experiment" });
      if (exp.status !== "draft")
        throw new InvalidStateError(`experiment ${exp.name} is ${exp.status}; only drafts start`);
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
      const [row] = await tx
        .update(experiment)
        .set({ status: "running", startedAt: sql`now()`, updatedAt: sql`now()` })
        .where(eq(experiment.id, exp.id))
        .returning();
      return mustExist(row, "experiment");
    }),
  );
}

/** running → stopped: no new assignments or exposures under it; its data stays for the decision. */
export async function stopExperiment(db: DbOrTx, input: { experimentId: string }): Promise<Experiment> {
  return withDbErrors(async () => {
    const [row] = await db
      .update(experiment)
      .set({ status: "stopped", stoppedAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(experiment.id, input.experimentId), eq(experiment.status, "running")))
      .returning();
    if (row) return row;
    const exp = await getExperiment(db, input.experimentId);
    throw new InvalidStateError(`experiment ${exp.name} is ${exp.status}; only running experiments stop`);
  });
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
      .select({ status: experiment.status })
      .from(experiment)
      .where(eq(experiment.id, input.experimentId));
    if (!exp) throw new NotFoundError(`experiment ${input.experimentId} not found`, { table: "experiment" });
    const key = and(eq(assignment.experimentId, input.experimentId), eq(assignment.userId, input.userId));
    if (exp.status !== "running") {
      throw new InvalidStateError(
        `experiment ${input.experimentId} is ${exp.status}; users are assigned only while it runs`,
      );
    }
    const [inserted] = await db.insert(assignment).values(input).onConflictDoNothing().returning();
    if (inserted) return { ...inserted, isNew: true };
    // A separate statement: it sees the row a concurrent winner just committed.
    const [existing] = await db.select().from(assignment).where(key);
    return { ...mustExist(existing, "assignment"), isNew: false };
  });
}

export async function findAssignment(
  db: DbOrTx,
  input: { experimentId: string; userId: string },
): Promise<Assignment | null> {
  return withDbErrors(async () => {
    const [row] = await db
      .select()
      .from(assignment)
      .where(and(eq(assignment.experimentId, input.experimentId), eq(assignment.userId, input.userId)));
    return row ?? null;
  });
}
