import "~/server/only";

import { createTRPCRouter } from "../../trpc";
import { apiKeysRouter } from "./api-keys";
import { dashboardRouter } from "./dashboard";
import { experimentsRouter } from "./experiments";
import { moderationRouter } from "./moderation";
import { adminPromptsRouter } from "./prompts";
import { roundsRouter } from "./rounds";
import { schedulesRouter } from "./schedules";
import { usersRouter } from "./users";

export const adminRouter = createTRPCRouter({
  dashboard: dashboardRouter,
  users: usersRouter,
  moderation: moderationRouter,
  prompts: adminPromptsRouter,
  apiKeys: apiKeysRouter,
  experiments: experimentsRouter,
  rounds: roundsRouter,
  schedules: schedulesRouter,
});
