// @likewise/db — schema, client factory (a given PostgreSQL or the embedded one), every SQL statement as a
// named verb, and typed domain errors.

// Client and lifecycle
export { createDb, type Db, type DbHandle, type DbOptions, type DbOrTx, type Sql } from "./client.ts";
export { embeddedConnectionUrl } from "./embedded-url.ts";
export { MIGRATIONS_DIR, runMigrations } from "./migrate.ts";
export { getDatabaseStatus, type DatabaseStatus } from "./queries/health.ts";

// Errors
export {
  ConflictError,
  DB_ERROR_CODES,
  DbError,
  type DbErrorCode,
  InvalidInputError,
  InvalidStateError,
  NotFoundError,
  toDbError,
  UnavailableError,
} from "./errors.ts";

// Users
export {
  createUser,
  type CreateUserInput,
  findUserByEmail,
  findUserCredentialsByEmail,
  getUser,
  setTrainingConsent,
  setUserBlocked,
  setUserExcludedFromTraining,
  setUserRole,
  type User,
  type UserCredentials,
} from "./queries/user.ts";

// Prompts
export {
  createPrompt,
  getPrompt,
  listActivePrompts,
  type Prompt,
  setPromptActive,
} from "./queries/prompt.ts";

// Model versions and the production alias
export {
  type AliasMove,
  findProductionModelVersion,
  getModelVersion,
  getProductionModelVersion,
  listProductionAliasHistory,
  MODEL_ALIAS_CHANNEL,
  MODEL_VERSION_CHANNEL,
  MODEL_VERSION_TRANSITIONS,
  type ModelAliasEvent,
  type ModelVersion,
  recordModelVersion,
  type RecordModelVersionInput,
  setModelVersionStatus,
  setProductionAlias,
  type SetProductionAliasInput,
} from "./queries/model-version.ts";

// Images
export {
  getImage,
  type Image,
  listUnratedImages,
  recordImage,
  type RecordImageInput,
  setImageHidden,
} from "./queries/image.ts";

// Generation: on-demand requests (the web enqueues, the trainer runs them) and the image pool
export {
  completeGenerationRequest,
  failGenerationRequest,
  GENERATION_DEFAULTS,
  type GenerationRequest,
  type GenerationRequestView,
  getGenerationRequest,
  listStaleGenerationRequests,
  MAX_GENERATION_COUNT,
  requestGeneration,
  type RequestGenerationInput,
  resendGenerationJob,
  setGenerationProgress,
  startGenerationRequest,
} from "./queries/generation.ts";
export {
  type GenerationBacklog,
  getGenerationBacklog,
  listActiveModelVersionIds,
  listPoolCoverage,
  type PoolCoverage,
} from "./queries/pool.ts";

// Registry: rollback, serving-host heartbeats, the feed model hosts follow
export {
  getServingTarget,
  listModelVersions,
  listServingHosts,
  modelRegistryFeed,
  type ModelVersionListItem,
  removeServingHost,
  reportServingHost,
  type ReportServingHostInput,
  rollbackProduction,
  type ServingHostRow,
} from "./queries/registry.ts";

// Votes, exposures
export {
  castVote,
  type CastVoteInput,
  type CastVoteResult,
  type FeedbackEvent,
  findVote,
  listFeedbackEvents,
  listUserVotes,
  type Vote,
} from "./queries/vote.ts";
export { type Exposure, recordExposure } from "./queries/exposure.ts";

// Experiments
export {
  abortExperimentStart,
  type Assignment,
  assignVariant,
  beginExperimentStart,
  createExperiment,
  type CreateExperimentInput,
  decideExperiment,
  type Experiment,
  type ExperimentDecisionInput,
  type ExperimentEvent,
  type ExperimentEventKind,
  type ExperimentWithVariants,
  findAssignment,
  findFreePopulationSlice,
  getExperiment,
  getExperimentMetrics,
  type HostReadiness,
  hostReadiness,
  type HostWaitOptions,
  listExperimentEvents,
  listExperiments,
  listFreePopulationSlices,
  listRunningExperiments,
  PopulationOverlapError,
  type PopulationSlice,
  populationSliceOf,
  setVariantWeights,
  startExperiment,
  startExperimentPhase,
  startExperimentWhenServed,
  stopExperiment,
  type Variant,
  type VariantMetricSums,
} from "./queries/experiment.ts";

// Label drain and rounds
export {
  claimLabelsForRound,
  type ClaimLabelsResult,
  countLabelPool,
  hashLabelManifest,
  type LabelCounts,
  type LabelManifest,
  type LabelManifestEntry,
  listRoundLabels,
  RELEASABLE_ROUND_STATUSES,
  releaseRoundLabels,
  type RoundLabel,
} from "./queries/label.ts";
export {
  acquireRoundLease,
  createRound,
  type CreateRoundInput,
  getRound,
  heartbeatRound,
  listRounds,
  listStaleRounds,
  type Round,
  type RoundLease,
  updateRoundStatus,
  type UpdateRoundStatusInput,
  type UpdateRoundStatusResult,
} from "./queries/round.ts";

// Passwords
export { BCRYPT_COST, hashPassword, MAX_PASSWORD_BYTES, verifyPassword } from "./password.ts";
export {
  createSchedule,
  getSchedule,
  listSchedules,
  markScheduleTriggered,
  type Schedule,
  type ScheduleInput,
  updateSchedule,
} from "./queries/schedule.ts";

// Web app: feed pages, idempotent votes, "my votes", admin lists, dashboard aggregates, public-API keys
export {
  castVoteOnce,
  type CastVoteOnceResult,
  type FeedCursor,
  type FeedImage,
  listFeedPage,
  listUserVotesWithImages,
  listVotesOnImages,
  recordExposures,
  type UserVoteWithImage,
} from "./queries/feed.ts";
export {
  type BatchVote,
  type BatchVoteOutcome,
  castVotes,
  createVoteWriter,
  MAX_VOTES_PER_BATCH,
  type VoteWriter,
  type VoteWriterOptions,
} from "./queries/vote-batch.ts";
export {
  type ActiveModel,
  type HourlyVotes,
  type LikeRatePoint,
  listActiveModels,
  listImagesForModeration,
  listLikeRateByModelVersion,
  listPromptImages,
  listPrompts,
  listUserPrompts,
  listUsers,
  listVotesPerHour,
  type ModerationImage,
  type PromptListItem,
  type UserListItem,
} from "./queries/admin.ts";
export {
  type ApiKey,
  type ApiKeyListItem,
  createApiKey,
  findApiKeyUser,
  listApiKeys,
  revokeApiKey,
} from "./queries/api-key.ts";
