// Client-safe constants: no imports, so a "use client" file may import @likewise/db/enums.

/** rater: votes and submits prompts; analyst: experiments + read-only admin; admin: everything. */
export const USER_ROLES = ["rater", "analyst", "admin"] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const PROMPT_SOURCES = ["curated", "user"] as const;
export type PromptSource = (typeof PROMPT_SOURCES)[number];

/**
 * candidate: written by a round, not yet gated; registered: verified and servable; rejected: failed a gate or
 * verification; retired: no longer served. "Production" is not a status: it is the `production` alias.
 */
export const MODEL_VERSION_STATUSES = ["candidate", "registered", "rejected", "retired"] as const;
export type ModelVersionStatus = (typeof MODEL_VERSION_STATUSES)[number];

export const MODEL_ALIASES = ["production"] as const;
export type ModelAlias = (typeof MODEL_ALIASES)[number];

export const ALIAS_MOVE_KINDS = ["initial", "promote", "rollback"] as const;
export type AliasMoveKind = (typeof ALIAS_MOVE_KINDS)[number];

/** The current vote. like = desirable, dislike = undesirable (KTO's binary label). */
export const VOTE_VALUES = ["like", "dislike"] as const;
export type VoteValue = (typeof VOTE_VALUES)[number];

/** A feedback event's new value: a vote value, or "cleared" when the vote was withdrawn. */
export const FEEDBACK_EVENT_VALUES = ["like", "dislike", "cleared"] as const;
export type FeedbackEventValue = (typeof FEEDBACK_EVENT_VALUES)[number];

export const ROUND_STATUSES = [
  "queued",
  "draining",
  "training",
  "exporting",
  "evaluating",
  "published",
  "rejected",
  "failed",
  "canceled",
] as const;
export type RoundStatus = (typeof ROUND_STATUSES)[number];

/** Statuses a round never leaves. */
export const TERMINAL_ROUND_STATUSES = [
  "published",
  "rejected",
  "failed",
  "canceled",
] as const satisfies readonly RoundStatus[];

/** Statuses that hold the training pipeline; at most one round is in one of them (DB-enforced). */
export const RUNNING_ROUND_STATUSES = [
  "training",
  "exporting",
  "evaluating",
] as const satisfies readonly RoundStatus[];

/** Legal round transitions: the state machine of ARCHITECTURE.md. */
export const ROUND_TRANSITIONS: Readonly<Record<RoundStatus, readonly RoundStatus[]>> = {
  queued: ["draining", "failed", "canceled"],
  draining: ["training", "failed", "canceled"],
  training: ["exporting", "failed", "canceled"],
  exporting: ["evaluating", "failed", "canceled"],
  evaluating: ["published", "rejected", "failed", "canceled"],
  published: [],
  rejected: [],
  failed: [],
  canceled: [],
};

export const ROUND_TRIGGERS = ["manual", "schedule", "data"] as const;
export type RoundTrigger = (typeof ROUND_TRIGGERS)[number];

/** What a published candidate becomes: nothing (admin decides), an experiment variant, or production. */
export const PROMOTION_POLICIES = ["none", "experiment", "promote_if_gate"] as const;
export type PromotionPolicy = (typeof PROMOTION_POLICIES)[number];

/** draft → starting (serving hosts load its versions; nobody is assigned yet) → running → stopped → decided. */
export const EXPERIMENT_STATUSES = ["draft", "starting", "running", "stopped", "decided"] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

/** An on-demand generation request: queued → running → done | failed (a retried job goes running → queued). */
export const GENERATION_STATUSES = ["queued", "running", "done", "failed"] as const;
export type GenerationStatus = (typeof GENERATION_STATUSES)[number];
