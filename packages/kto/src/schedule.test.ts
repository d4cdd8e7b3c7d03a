import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { addNoise } from "./noise";
import { Rng, splitSeed } from "./rng";
import { createSchedule } from "./schedule";

describe("noise schedules", () => {
  it("linear: β from 1e-4 to 0.02, ᾱ decreasing to ≈4.0e-5", () => {
    const s = createSchedule({ kind: "linear", steps: 1000, betaStart: 1e-4, betaEnd: 0.02 });
    expect(s.betas[0]).toBeCloseTo(1e-4, 8);
    expect(s.betas[999]).toBeCloseTo(0.02, 8);
    expect(s.alphasCumprod[0]).toBeCloseTo(0.9999, 6);
    // Golden value: ∏(1 − β_t) computed in float64 (numpy gives 4.0358e-05 for DDPM's schedule).
    expect(s.alphasCumprod[999]).toBeCloseTo(4.0358e-5, 8);
    for (let i = 1; i < 1000; i++) expect(s.alphasCumprod[i]).toBeLessThan(s.alphasCumprod[i - 1] ?? 0);
  });

  it("cosine: ᾱ follows f(t)/f(0) and β is clipped at 0.999", () => {
    const s = createSchedule({ kind: "cosine", steps: 1000 });
    const f = (t: number) => Math.cos(((t / 1000 + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    expect(s.alphasCumprod[499]).toBeCloseTo(f(500) / f(0), 5);
    expect(Math.max(...s.betas)).toBeLessThanOrEqual(0.999 + 1e-7);
  });

  it("the @likewise/kto/schedule subpath imports nothing (usable without tfjs, e.g. by the web app)", () => {
    const src = readFileSync(new URL("./schedule.ts", import.meta.url), "utf8");
    expect(src).not.toMatch(/^\s*import\s/m);
  });

  it("rejects an unknown kind", () => {
    expect(() => createSchedule({ kind: "sigmoid" as "linear", steps: 1000 })).toThrow(
      /unknown beta schedule/,
    );
  });
});

describe("rng and q(x_t | x0)", () => {
  it("is deterministic under a seed, and split streams differ", () => {
    const a = new Rng(7).fillNormal(new Float32Array(5));
    const b = new Rng(7).fillNormal(new Float32Array(5));
    expect([...a]).toEqual([...b]);
    expect(splitSeed(7, 1)).not.toBe(splitSeed(7, 2));
    const r = new Rng(3);
    r.uniform();
    const resumed = new Rng(r.state());
    expect(resumed.nextU32()).toBe(r.nextU32());
  });

  it("gaussian samples have mean ≈ 0 and variance ≈ 1", () => {
    const x = new Rng(11).fillNormal(new Float32Array(100_000));
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });

  it("addNoise mixes x0 and ε with sqrt(ᾱ_t), sqrt(1 − ᾱ_t)", () => {
    const ac = new Float32Array([0.25, 0.64]);
    const xt = addNoise(new Float32Array([1, 1, 1, 1]), new Float32Array([2, 2, 2, 2]), [0, 1], ac);
    expect(xt[0]).toBeCloseTo(0.5 + Math.sqrt(0.75) * 2, 6);
    expect(xt[3]).toBeCloseTo(0.8 + 0.6 * 2, 6);
  });
});
