import "~/server/only";

import { accountRouter } from "./routers/account";
import { adminRouter } from "./routers/admin";
import { authRouter } from "./routers/auth";
import { feedRouter } from "./routers/feed";
import { feedbackRouter } from "./routers/feedback";
import { promptsRouter } from "./routers/prompts";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  auth: authRouter,
  account: accountRouter,
  feed: feedRouter,
  feedback: feedbackRouter,
  prompts: promptsRouter,
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
