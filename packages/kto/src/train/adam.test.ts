import { describe, expect, it } from "vitest";

import { learningRateAt } from "./adam";

describe("learning-rate schedule", () => {
  it("warms up linearly, then stays constant without a decay", () => {
    expect(learningRateAt(1, 1e-3, 100)).toBeCloseTo(1e-5, 12);
    expect(learningRateAt(50, 1e-3, 100)).toBeCloseTo(5e-4, 12);
    expect(learningRateAt(100, 1e-3, 100)).toBe(1e-3);
    expect(learningRateAt(10_000, 1e-3, 100)).toBe(1e-3);
  });

  it("half-cosine decay: base right after warm-up, midpoint (1+r)/2·base, r·base at the end and after", () => {
    const decay = { totalSteps: 1100, finalRatio: 0.1 };
    expect(learningRateAt(100, 1e-3, 100, decay)).toBe(1e-3); // last warm-up step
    expect(learningRateAt(101, 1e-3, 100, decay)).toBeCloseTo(1e-3, 8);
    // progress 0.5 at step 600: 0.1 + 0.9·0.5·(1 + cos(π/2)) = 0.55
    expect(learningRateAt(600, 1e-3, 100, decay)).toBeCloseTo(5.5e-4, 12);
    expect(learningRateAt(1100, 1e-3, 100, decay)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(5000, 1e-3, 100, decay)).toBeCloseTo(1e-4, 12);
    // monotone non-increasing after warm-up
    let prev = Infinity;
    for (let s = 100; s <= 1200; s += 7) {
      const lr = learningRateAt(s, 1e-3, 100, decay);
      expect(lr).toBeLessThanOrEqual(prev);
      prev = lr;
    }
  });
});
