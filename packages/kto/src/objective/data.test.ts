// The γ positive-ratio sampler and DPO pair building: pure functions over label arrays.
import { describe, expect, it } from "vitest";

import { KtoError } from "../errors";
import { buildDpoPairs, pairBatchOrder } from "./dpo-pairs";
import { PositiveRatioSampler } from "./positive-ratio-sampler";

describe("PositiveRatioSampler (γ, with replacement)", () => {
  // 10 % desirable: the sampler must still draw ≈ γ desirable.
  const labels = Array.from({ length: 200 }, (_v, i) => (i % 10 === 0 ? 1 : -1));

  for (const gamma of [0.8, 0.5, 0.2]) {
    it(`draws desirable with probability γ = ${gamma} whatever the class balance, uniformly within a class`, () => {
      const s = new PositiveRatioSampler(labels, gamma, 3);
      const n = 20_000;
      const draws = s.sample(n);
      const share = Array.from(draws).filter((i) => (labels[i] ?? 0) > 0).length / n;
      expect(Math.abs(share - gamma)).toBeLessThan(4 * Math.sqrt((gamma * (1 - gamma)) / n)); // 4σ
      const counts = new Map<number, number>();
      for (const i of draws) counts.set(i, (counts.get(i) ?? 0) + 1);
      expect(counts.size).toBe(200); // every example is reachable
      // Each desirable example gets ≈ γ·n/20 draws.
      for (let i = 0; i < 200; i += 10)
        expect(Math.abs((counts.get(i) ?? 0) - (gamma * n) / 20)).toBeLessThan(
          6 * Math.sqrt((gamma * n) / 20),
        );
    });
  }

  it("is deterministic and addressable: sample(n, from) equals at(p) and depends only on (seed, p)", () => {
    const a = new PositiveRatioSampler(labels, 0.8, 9);
    const b = new PositiveRatioSampler(labels, 0.8, 9);
    expect(Array.from(a.sample(50, 100))).toEqual(Array.from(b.sample(50, 100)));
    expect(a.at(123)).toBe(b.sample(1, 123)[0]);
    expect(Array.from(new PositiveRatioSampler(labels, 0.8, 10).sample(50))).not.toEqual(
      Array.from(a.sample(50)),
    );
  });

  it("an empty class: every draw comes from the other; invalid γ or no labels throw", () => {
    const onlyBad = new PositiveRatioSampler([-1, -1, -1], 0.8, 1).sample(100);
    expect(new Set(onlyBad).size).toBe(3);
    const onlyGood = new PositiveRatioSampler([1, 1], 0.2, 1).sample(100);
    expect(Array.from(onlyGood).every((i) => i === 0 || i === 1)).toBe(true);
    expect(() => new PositiveRatioSampler([1, -1], 1.5)).toThrow(KtoError);
    expect(() => new PositiveRatioSampler([1, -1], Number.NaN)).toThrow(/γ must be in \[0, 1\]/);
    expect(() => new PositiveRatioSampler([], 0.8)).toThrow(/at least one/);
  });
});

describe("buildDpoPairs (same prompt, one liked, one disliked)", () => {
  const prompts = ["cat", "dog", "cat", "cat", "dog", "fish", "cat", "bird", "bird"];
  const labels = [1, 1, -1, 1, -1, 1, 1, -1, -1];
  // cat: likes [0, 3, 6], dislikes [2]; dog: likes [1], dislikes [4]; fish: only a like; bird: only dislikes.

  it("cycle (default): max(n_like, n_dislike) pairs per prompt, every image used, prompts in first-appearance order", () => {
    const { pairs, unpairedPrompts, unpairedImages } = buildDpoPairs(prompts, labels);
    expect(pairs.map((p) => [p.prompt, p.winner, p.loser])).toEqual([
      ["cat", 0, 2],
      ["cat", 3, 2],
      ["cat", 6, 2],
      ["dog", 1, 4],
    ]);
    expect(unpairedPrompts).toBe(2);
    expect(unpairedImages).toBe(3);
    expect(buildDpoPairs(prompts, labels)).toEqual(buildDpoPairs(prompts, labels)); // deterministic
  });

  it("all: the cross product, like-major; maxPairsPerPrompt caps it", () => {
    const p2 = ["a", "a", "a", "a"];
    const y2 = [1, -1, 1, -1];
    expect(buildDpoPairs(p2, y2, { mode: "all" }).pairs.map((p) => [p.winner, p.loser])).toEqual([
      [0, 1],
      [0, 3],
      [2, 1],
      [2, 3],
    ]);
    expect(buildDpoPairs(p2, y2, { mode: "cycle" }).pairs.map((p) => [p.winner, p.loser])).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(buildDpoPairs(p2, y2, { mode: "all", maxPairsPerPrompt: 3 }).pairs).toHaveLength(3);
  });

  it("pairBatchOrder lays a batch out as [winners, losers]; bad labels throw", () => {
    const { pairs } = buildDpoPairs(prompts, labels);
    expect(Array.from(pairBatchOrder(pairs.slice(0, 2)))).toEqual([0, 3, 2, 2]);
    expect(() => buildDpoPairs(["a"], [0])).toThrow(/\+1 \(liked\) or −1/);
    expect(() => buildDpoPairs(["a", "b"], [1])).toThrow(KtoError);
  });
});
