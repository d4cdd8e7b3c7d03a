import "~/server/only";

import { TRPCError } from "@trpc/server";

export type RateLimitRule = {
  /** Bucket size: how many actions may happen in a burst. */
  capacity: number;
  /** Tokens added back per second. */
  refillPerSecond: number;
};

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

/** The cause of a TOO_MANY_REQUESTS error: how long until the bucket has a token again (→ Retry-After). */
export class RateLimitedError extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`rate limited for ${retryAfterMs} ms`);
    this.name = "RateLimitedError";
  }
}

/** Throws TOO_MANY_REQUESTS ("too many <what>; try again in N s") when the bucket is empty. */
export function enforceLimit(result: TakeResult, what: string): void {
  if (!result.ok) {
    throw new TRPCError({
      code: "TOO_MANY_REQUESTS",
      message: `too many ${what}; try again in ${Math.ceil(result.retryAfterMs / 1000)} s`,
      cause: new RateLimitedError(result.retryAfterMs),
    });
  }
}

/** Whole seconds for a Retry-After header (at least 1). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * In-process token buckets keyed by a string (user id, IP, email). One web process = one set of buckets: with N
 * replicas a client gets at most N× the limit (ARCHITECTURE.md). Idle buckets are forgotten beyond `maxKeys`.
 */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly rule: RateLimitRule,
    private readonly now: () => number = () => performance.now(),
    private readonly maxKeys = 50_000,
  ) {}

  take(key: string, cost = 1): TakeResult {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.rule.capacity, at: t };
    b.tokens = Math.min(this.rule.capacity, b.tokens + ((t - b.at) / 1000) * this.rule.refillPerSecond);
    b.at = t;
    this.buckets.delete(key); // re-insert: Map order = least recently used first
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((cost - b.tokens) / this.rule.refillPerSecond) * 1000) };
  }
}

export type RateLimiters = {
  vote: TokenBucketLimiter;
  prompt: TokenBucketLimiter;
  signIn: TokenBucketLimiter;
  signUp: TokenBucketLimiter;
  api: TokenBucketLimiter;
};

/** The product's limits; `scale` multiplies every capacity (LIKEWISE_RATE_LIMIT_SCALE). */
export function createRateLimiters(scale = 1): RateLimiters {
  const rule = (capacity: number, perMinute: number): RateLimitRule => ({
    capacity: capacity * scale,
    refillPerSecond: (perMinute * scale) / 60,
  });
  return {
    vote: new TokenBucketLimiter(rule(60, 120)), // a fast rater votes ~1/s; bursts of double-clicks are fine
    prompt: new TokenBucketLimiter(rule(5, 2)), // each prompt may cost a generation
    signIn: new TokenBucketLimiter(rule(10, 6)), // per IP and per email: slows password guessing to 6/min
    signUp: new TokenBucketLimiter(rule(10, 2)), // per IP
    api: new TokenBucketLimiter(rule(120, 240)), // per API key
  };
}
