import { pgEnum } from "drizzle-orm/pg-core";

import {
  ALIAS_MOVE_KINDS,
  EXPERIMENT_STATUSES,
  FEEDBACK_EVENT_VALUES,
  GENERATION_STATUSES,
  MODEL_ALIASES,
  MODEL_VERSION_STATUSES,
  PROMOTION_POLICIES,
  PROMPT_SOURCES,
  ROUND_STATUSES,
  ROUND_TRIGGERS,
  USER_ROLES,
  VOTE_VALUES,
} from "../enums.ts";

export const userRole = pgEnum("user_role", USER_ROLES);
export const promptSource = pgEnum("prompt_source", PROMPT_SOURCES);
export const modelVersionStatus = pgEnum("model_version_status", MODEL_VERSION_STATUSES);
export const modelAliasName = pgEnum("model_alias_name", MODEL_ALIASES);
export const aliasMoveKind = pgEnum("alias_move_kind", ALIAS_MOVE_KINDS);
export const voteValue = pgEnum("vote_value", VOTE_VALUES);
export const feedbackEventValue = pgEnum("feedback_event_value", FEEDBACK_EVENT_VALUES);
export const roundStatus = pgEnum("round_status", ROUND_STATUSES);
export const roundTrigger = pgEnum("round_trigger", ROUND_TRIGGERS);
export const promotionPolicy = pgEnum("promotion_policy", PROMOTION_POLICIES);
export const experimentStatus = pgEnum("experiment_status", EXPERIMENT_STATUSES);
export const generationStatus = pgEnum("generation_status", GENERATION_STATUSES);
