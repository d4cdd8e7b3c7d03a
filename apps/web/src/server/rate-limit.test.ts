import { describe, expect, it } from "vitest";

import { createRateLimiters, TokenBucketLimiter } from "./rate-limit";

describe("TokenBucketLimiter", () => {
  it("allows a burst of `capacity`, then refills at the configured rate, per key", () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ capacity: 3, refillPerSecond: 0.5 }, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take("a").ok)).toEqual([true, true, true, false]);
    expect(limiter.take("b").ok).toBe(true); // another key has its own bucket
    const refused = limiter.take("a");
    expect(refused).toEqual({ ok: false, retryAfterMs: 2000 });
    now = 1999;
    expect(limiter.take("a").ok).toBe(false);
    now = 2000; // 2 s per token: one token is back (the refused takes above cost nothing)
    expect(limiter.take("a").ok).toBe(true);
    expect(limiter.take("a").ok).toBe(false);
    now = 1_000_000; // never more than capacity
    expect([1, 2, 3, 4].map(() => limiter.take("a").ok)).toEqual([true, true, true, false]);
  });

  it("forgets the least recently used keys beyond maxKeys (a full bucket again)", () => {
    const limiter = new TokenBucketLimiter({ capacity: 1, refillPerSecond: 0.001 }, () => 0, 2);
    expect(limiter.take("a").ok).toBe(true);
    expect(limiter.take("b").ok).toBe(true);
    expect(limiter.take("c").ok).toBe(true); // evicts "a"
    expect(limiter.take("a").ok).toBe(true);
    expect(limiter.take("c").ok).toBe(false);
  });

  it("scales every product limit", () => {
    expect(createRateLimiters(2).vote.rule).toEqual({ capacity: 120, refillPerSecond: 4 });
    expect(createRateLimiters().signIn.rule).toEqual({ capacity: 10, refillPerSecond: 0.1 });
  });
});
