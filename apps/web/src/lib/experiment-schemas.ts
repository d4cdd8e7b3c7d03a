// Pure zod inputs of the experiment procedures, shared by the router and the create form.
import { z } from "zod";

export const EXPERIMENT_PRIMARY_METRICS = ["like_rate_per_vote", "likes_per_exposure"] as const;
export const EXPERIMENT_GUARDRAILS = [
  "generation_error_rate",
  "generation_latency_ms",
  "participation",
] as const;
export const DECISION_METHODS = ["sequential", "fixed", "bayesian"] as const;

export const ExperimentIdInput = z.object({ experimentId: z.uuid() });

export const CreateExperimentInput = z
  .object({
    name: z.string().trim().min(1, "give the experiment a name").max(120),
    hypothesis: z.string().trim().max(2000).default(""),
    populationPercent: z.number().gt(0, "more than 0%").max(100, "at most 100%").default(100),
    /** Start of the population slice: experiments on disjoint slices are mutually exclusive and may run together. */
    populationOffset: z.number().min(0, "at least 0%").lt(100, "below 100%").default(0),
    primaryMetric: z.enum(EXPERIMENT_PRIMARY_METRICS).default("like_rate_per_vote"),
    guardrails: z.array(z.enum(EXPERIMENT_GUARDRAILS)).max(3).default(["generation_error_rate"]),
    minSamplePerVariant: z.number().int().min(0).max(10_000_000).default(100),
    minDurationSeconds: z
      .number()
      .int()
      .min(0)
      .max(90 * 86_400)
      .default(0),
    decisionRule: z
      .object({
        method: z.enum(DECISION_METHODS).default("sequential"),
        alpha: z.number().gt(0).max(0.2).default(0.05),
        chanceToBeat: z.number().gt(0.5).lt(1).default(0.95),
        /** Relative lift the experiment expects (sets the sequential test's mixing variance τ). */
        expectedLift: z.number().gt(0).max(10).default(0.1),
        /** Stop by itself when a generation guardrail degrades significantly (sequential test). */
        autoStopOnGuardrail: z.boolean().default(false),
      })
      .default({
        method: "sequential",
        alpha: 0.05,
        chanceToBeat: 0.95,
        expectedLift: 0.1,
        autoStopOnGuardrail: false,
      }),
    variants: z
      .array(
        z.object({
          name: z.string().trim().min(1).max(60),
          modelVersionId: z.string().trim().min(1).max(200),
          weight: z.number().min(0).max(1000),
          isControl: z.boolean().default(false),
        }),
      )
      .min(2, "at least two variants")
      .max(8),
  })
  .refine((x) => x.populationOffset + x.populationPercent <= 100, {
    message: "the population slice must end at or below 100%",
    path: ["populationOffset"],
  })
  .refine((x) => x.variants.filter((v) => v.isControl).length === 1, {
    message: "exactly one variant is the control",
    path: ["variants"],
  })
  .refine((x) => new Set(x.variants.map((v) => v.name)).size === x.variants.length, {
    message: "variant names must differ",
    path: ["variants"],
  })
  .refine((x) => x.variants.reduce((s, v) => s + v.weight, 0) > 0, {
    message: "the traffic weights must not all be 0",
    path: ["variants"],
  });
export type CreateExperimentInput = z.input<typeof CreateExperimentInput>;

export const DecideExperimentInput = z.object({
  experimentId: z.uuid(),
  action: z.enum(["promote", "rollback"]),
  variantId: z.uuid().optional(),
  reason: z.string().trim().min(1, "say why").max(2000),
});

export const SetWeightsInput = z.object({
  experimentId: z.uuid(),
  /** variant id → new weight; users already assigned keep their variant. */
  weights: z.record(z.uuid(), z.number().min(0).max(1000)),
});

export const StopExperimentInput = z.object({
  experimentId: z.uuid(),
  reason: z.string().trim().max(2000).default(""),
});

export const NewPhaseInput = z.object({
  experimentId: z.uuid(),
  reason: z.string().trim().min(1, "say why everyone is reassigned").max(2000),
});
