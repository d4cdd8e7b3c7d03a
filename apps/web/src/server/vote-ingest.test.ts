import { describe, expect, it } from "vitest";

import { ApiKeyCache } from "./vote-ingest";

const owner = (n: number) => ({
  keyId: `k${n}`,
  userId: `u${n}`,
  email: `u${n}@example.com`,
  role: "rater" as const,
});

describe("ApiKeyCache", () => {
  it("forgets an entry after its time to live", () => {
    let now = 0;
    const cache = new ApiKeyCache(1_000, 10, () => now);
    cache.set("h1", owner(1));
    now = 999;
    expect(cache.get("h1")).toEqual(owner(1));
    now = 1_000;
    expect(cache.get("h1")).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("keeps at most `max` entries, dropping the least recently set first", () => {
    const cache = new ApiKeyCache(60_000, 2, () => 0);
    cache.set("a", owner(1));
    cache.set("b", owner(2));
    cache.set("a", owner(1)); // refreshed: now the newest
    cache.set("c", owner(3));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toEqual(owner(1));
    expect(cache.get("c")).toEqual(owner(3));
  });

  it("drops an entry on request (a key the database refused)", () => {
    const cache = new ApiKeyCache();
    cache.set("h", owner(1));
    cache.delete("h");
    expect(cache.get("h")).toBeUndefined();
  });
});
