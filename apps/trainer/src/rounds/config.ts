// A round's configuration: what the schedule (or `pnpm likewise round run --config`) asks for, validated once and
// stored on the round row (objective_config). Defaults follow shared/reference/diffusion-kto.md §3 where they transfer
// to a 16–32 px model trained for minutes, and say so where they do not.
import { z } from "zod";

import { POOL_SAMPLING } from "../sampling.ts";

export const RoundConfig = z
  .object({
    objective: z.enum(["kto", "dpo", "sft"]).default("kto"),
    /** β. The paper's 5000 is for SD's per-element MSE; the same scale holds here (per-element mean). */
    beta: z.number().positive().default(5000),
    utility: z.enum(["sigmoid", "loss-averse", "risk-seeking"]).default("sigmoid"),
    referencePoint: z.enum(["batch", "class-balanced", "mismatched", "mismatched-clamped"]).default("batch"),
    lambdaD: z.number().min(0).default(1),
    lambdaU: z.number().min(0).default(1),
    /**
     * KTO only: draw (liked, disliked) pairs of one prompt and give each pair one timestep and one noise (the DPO
     * batch layout), the per-sample KTO loss unchanged; the shared noise cancels the update's common part
     * (BENCHMARKS.md, alignment notes, session 19). γ does not apply: pairs balance the classes.
     */
    pairedSampling: z.boolean().default(false),
    /** Positive ratio γ (paper 0.8); null = plain epoch order over the labels as they are. */
    positiveRatio: z.number().gt(0).lt(1).nullable().default(0.8),
    /** The paper's 1e-7 is for SD at β 5000 over 10k steps; a minutes-long round on the tiny model needs more. */
    learningRate: z.number().positive().max(1).default(2e-5),
    warmupSteps: z.int().min(0).default(20),
    steps: z.int().min(1).max(1_000_000).default(200),
    batchSize: z.int().min(2).max(1024).default(16),
    promptDropout: z.number().min(0).max(1).default(0.2),
    /**
     * Train the classifier-free-guided prediction at this scale (1 = the plain conditional one): set it to the guidance
     * the voted images were drawn with, so the loss fits the sampler users saw (BENCHMARKS.md "Alignment benchmark").
     */
    trainingGuidance: z.number().min(1).max(30).default(1),
    /**
     * Which weights the round trains: "all" of the UNet (the paper's recipe), or a named subset of packages/kto's
     * TRAINABLE_SUBSETS ("attn": attention and text projections; "bitfit": biases and norm scales; "up": the decoder
     * half). At the default learning rate and steps, "attn" avoids most of what whole-UNet training costs in P(like)
     * and prompt fidelity (BENCHMARKS.md, alignment notes, session 23). The text encoder is always frozen.
     */
    trainable: z.enum(["all", "attn", "bitfit", "up"]).default("all"),
    seed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
    /** Data-parallel worker threads of the trainer (0 = this thread). */
    workers: z.int().min(0).max(16).default(1),
    checkpointEvery: z.int().min(1).default(25),
    /** Draining: fewer claimed labels than this fails the round (labels released). */
    minLabels: z.int().min(1).default(16),
    /** Draining: the liked share of the claimed labels must lie in this band. */
    classBalance: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]).default([0.05, 0.95]),
    /** Claim at most this many labels (oldest first); null = all eligible. */
    maxLabels: z.int().min(1).nullable().default(null),
    gate: z
      .object({
        prompts: z.int().min(1).max(1000).default(24),
        imagesPerPrompt: z.int().min(1).max(16).default(2),
        seed: z.int().min(0).default(90_000),
        /** The gate samples as users' images are sampled (POOL_SAMPLING), so it compares what users would see. */
        samplingSteps: z.int().min(10).max(100).default(POOL_SAMPLING.steps),
        /** DDIM η: 0 deterministic, 1 ancestral (the served sampler). */
        eta: z.number().min(0).max(1).default(POOL_SAMPLING.eta),
        guidanceScale: z.number().min(1).max(30).default(POOL_SAMPLING.guidanceScale),
        /** Rater preset (packages/synth) whose like rate the gate compares. */
        raters: z.string().min(1).default("default"),
        /** Published iff candidate like rate − parent like rate ≥ this. */
        minLikeRateDelta: z.number().min(-1).max(1).default(0),
        /** … and candidate judge fidelity ≥ parent fidelity − this. */
        maxFidelityDrop: z.number().min(0).max(1).default(0.05),
      })
      .prefault({}),
    promotion: z
      .discriminatedUnion("policy", [
        z.object({ policy: z.literal("none") }),
        z.object({ policy: z.literal("promote") }),
        z.object({ policy: z.literal("experiment"), trafficPercent: z.int().min(1).max(99) }),
      ])
      .default({ policy: "none" }),
  })
  .strict()
  .refine((c) => c.classBalance[0] <= c.classBalance[1], { message: "classBalance: min must be ≤ max" })
  .refine((c) => !c.pairedSampling || c.objective === "kto", {
    message: "pairedSampling applies to the kto objective (dpo always trains on pairs, sft on liked images)",
  });
export type RoundConfig = z.infer<typeof RoundConfig>;

export class RoundConfigError extends Error {
  override readonly name = "RoundConfigError";
}

/** Validates a round config (unknown keys refused); the error lists every problem with its path. */
export function parseRoundConfig(input: unknown): RoundConfig {
  const r = RoundConfig.safeParse(input ?? {});
  if (r.success) return r.data;
  throw new RoundConfigError(
    `invalid round config: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
  );
}
