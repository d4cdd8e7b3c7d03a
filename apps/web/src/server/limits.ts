import "~/server/only";

import { env } from "~/env";

import { createRateLimiters, type RateLimiters } from "./rate-limit";

// The process's rate limiters, kept on globalThis: dev-mode reloads reuse them, and the vote ingestion path, which
// runs outside Next's bundles in the same process (src/serve.ts), shares the same buckets as the web app.
const g = globalThis as unknown as { __likewiseLimits?: RateLimiters };

export function getLimits(): RateLimiters {
  return (g.__likewiseLimits ??= createRateLimiters(env.rateLimitScale));
}
