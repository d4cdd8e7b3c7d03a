import "~/server/only";

import { type TRPCRouterRecord, TRPCError } from "@trpc/server";

import {
  createExperiment,
  decideExperiment,
  type Db,
  getExperiment,
  getExperimentMetrics,
  listExperimentEvents,
  listExperiments,
  listModelVersions,
  listUnratedImages,
  setVariantWeights,
  startExperimentPhase,
  startExperimentWhenServed,
  stopExperiment,
} from "@likewise/db";

import {
  CreateExperimentInput,
  DecideExperimentInput,
  ExperimentIdInput,
  NewPhaseInput,
  SetWeightsInput,
  StopExperimentInput,
} from "~/lib/experiment-schemas";

import { analyzeExperiment, estimateOf, aggregateOf, seriesCutoffs } from "../../../experiments/analysis";
import { adminProcedure, analystProcedure } from "../../trpc";

/**
 * The experiment, its analysis now (current phase), the cumulative primary metric per variant at evenly spaced
 * cut-offs of the phase, its audit log, and the sample-ratio check of every phase (past ones as they closed).
 */
async function results(db: Db, experimentId: string, now = new Date()) {
  const exp = await getExperiment(db, experimentId);
  const analysis = analyzeExperiment(exp, await getExperimentMetrics(db, { experimentId }), now);
  const events = await listExperimentEvents(db, { experimentId });
  const phases = [
    ...events.flatMap((e) => {
      const closing = e.kind === "phase" ? (e.details.closing as PhaseSummary | undefined) : undefined;
      return closing ? [closing] : [];
    }),
    phaseSummary(exp.phase, exp.phaseStartedAt ?? exp.startedAt, analysis),
  ];
  const series: { at: Date; variants: Record<string, { value: number; lower: number; upper: number }> }[] =
    [];
  const since = exp.phaseStartedAt ?? exp.startedAt;
  if (since) {
    for (const at of seriesCutoffs(since, exp.stoppedAt ?? now, 12)) {
      const sums = await getExperimentMetrics(db, { experimentId, until: at });
      series.push({
        at,
        variants: Object.fromEntries(
          sums.map((s) => [
            s.variantId,
            estimateOf(aggregateOf(s, analysis.primaryMetric), analysis.rule.alpha),
          ]),
        ),
      });
    }
  }
  return { experiment: exp, analysis, series, events, phases };
}

type PhaseSummary = {
  phase: number;
  startedAt: string | null;
  users: Record<string, number>;
  srm: { chiSquare: number; pValue: number; mismatch: boolean };
};

function phaseSummary(
  phase: number,
  startedAt: Date | null,
  analysis: ReturnType<typeof analyzeExperiment>,
): PhaseSummary {
  return {
    phase,
    startedAt: startedAt?.toISOString() ?? null,
    users: Object.fromEntries(analysis.variants.map((v) => [v.name, v.counts.users])),
    srm: { chiSquare: analysis.srm.chiSquare, pValue: analysis.srm.pValue, mismatch: analysis.srm.mismatch },
  };
}

export const experimentsRouter = {
  list: analystProcedure.query(({ ctx }) => listExperiments(ctx.db)),

  /** Registered model versions a variant may use (the create form's choices). */
  modelVersions: analystProcedure.query(({ ctx }) => listModelVersions(ctx.db, { status: "registered" })),

  results: analystProcedure
    .input(ExperimentIdInput)
    .query(({ ctx, input }) => results(ctx.db, input.experimentId)),

  /** A few recent unrated images of each variant's version (the page's contact sheets). */
  contactSheets: analystProcedure.input(ExperimentIdInput).query(async ({ ctx, input }) => {
    const exp = await getExperiment(ctx.db, input.experimentId);
    return Promise.all(
      exp.variants.map(async (v) => ({
        variantId: v.id,
        images: await listUnratedImages(ctx.db, {
          userId: ctx.viewer.id,
          modelVersionId: v.modelVersionId,
          limit: 8,
        }),
      })),
    );
  }),

  create: analystProcedure
    .input(CreateExperimentInput)
    .mutation(({ ctx, input }) => createExperiment(ctx.db, { ...input, createdBy: ctx.viewer.id })),

  /** Loads the versions on every serving host first; nobody is assigned before they serve. */
  start: adminProcedure.input(ExperimentIdInput).mutation(({ ctx, input }) =>
    startExperimentWhenServed(ctx.db, {
      ...input,
      actorId: ctx.viewer.id,
      ...ctx.services.experimentHosts,
    }),
  ),

  /** New traffic weights; assigned users stay (sticky), a running experiment starts a new sample-ratio phase. */
  setWeights: adminProcedure
    .input(SetWeightsInput)
    .mutation(({ ctx, input }) => setVariantWeights(ctx.db, { ...input, actorId: ctx.viewer.id })),

  /**
   * A new phase: everyone is re-randomised (unlike a weight change, which keeps assigned users) and metrics, the
   * sample-ratio check and the minimum duration restart; the closing phase's split and SRM go into the audit log.
   */
  newPhase: adminProcedure.input(NewPhaseInput).mutation(async ({ ctx, input }) => {
    const exp = await getExperiment(ctx.db, input.experimentId);
    const { analysis } = await results(ctx.db, input.experimentId);
    return startExperimentPhase(ctx.db, {
      experimentId: input.experimentId,
      actorId: ctx.viewer.id,
      reason: input.reason,
      details: { closing: phaseSummary(exp.phase, exp.phaseStartedAt ?? exp.startedAt, analysis) },
    });
  }),

  stop: adminProcedure
    .input(StopExperimentInput)
    .mutation(({ ctx, input }) => stopExperiment(ctx.db, { ...input, actorId: ctx.viewer.id })),

  /**
   * Promote a variant (production moves to it) or roll back (control stays), ending the experiment; audited. A
   * promotion needs a green sample-ratio check and the minimum sample and duration; a rollback is always allowed.
   */
  decide: adminProcedure.input(DecideExperimentInput).mutation(async ({ ctx, input }) => {
    const { analysis } = await results(ctx.db, input.experimentId);
    if (input.action === "promote") {
      if (analysis.srm.mismatch)
        throw new TRPCError({
          code: "PRECONDITION_FAILED",
          message: `sample-ratio mismatch (p = ${analysis.srm.pValue.toExponential(2)}): no promotion while the assignment is broken`,
        });
      if (!analysis.readiness.ready)
        throw new TRPCError({
          code: "PRECONDITION_FAILED",
          message: `not yet: ${analysis.recommendation.reason}`,
        });
      if (!input.variantId)
        throw new TRPCError({ code: "BAD_REQUEST", message: "choose the variant to promote" });
    }
    const promoted = analysis.variants.find((v) => v.variantId === input.variantId);
    return decideExperiment(ctx.db, {
      experimentId: input.experimentId,
      action: input.action,
      variantId: input.variantId,
      actorId: ctx.viewer.id,
      reason: input.reason,
      evidence: {
        recommendation: analysis.recommendation,
        rule: analysis.rule,
        srm: { chiSquare: analysis.srm.chiSquare, pValue: analysis.srm.pValue },
        users: Object.fromEntries(analysis.variants.map((v) => [v.name, v.counts.users])),
        primary: promoted?.comparisons[analysis.primaryMetric]
          ? {
              metric: analysis.primaryMetric,
              difference: promoted.comparisons[analysis.primaryMetric]?.difference,
              sequentialP: promoted.comparisons[analysis.primaryMetric]?.sequential.pValue,
              fixedP: promoted.comparisons[analysis.primaryMetric]?.fixedHorizon.pValue,
              chanceToBeatControl: promoted.comparisons[analysis.primaryMetric]?.bayesian.chanceToBeatControl,
            }
          : null,
      },
    });
  }),
} satisfies TRPCRouterRecord;
