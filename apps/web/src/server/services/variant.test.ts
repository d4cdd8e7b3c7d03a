// Feed bucketing: the split follows the weights (χ² on many users), the population share holds, assignments are
// deterministic, and a weight change keeps everyone already assigned where they are (real database).
import { afterAll, describe, expect, inject, it } from "vitest";

import {
  createDb,
  createExperiment,
  getExperimentMetrics,
  setVariantWeights,
  startExperiment,
  stopExperiment,
} from "@likewise/db";
import { createTestModelVersion, createTestUser, uniqueId } from "@likewise/db/testing";

import { sampleRatioMismatch } from "../experiments/statistics";
import { inPopulation, pickVariant, populationPosition, resolveViewerVariant } from "./variant";

const handle = createDb(inject("databaseUrl"), { max: 4 });
afterAll(() => handle.close());

const variants = (weights: number[]) =>
  weights.map((weight, i) => ({
    id: `v${i}`,
    experimentId: "e",
    name: `v${i}`,
    modelVersionId: `m${i}`,
    weight,
    isControl: i === 0,
    createdAt: new Date(0),
  }));

describe("bucketing", () => {
  const ids = Array.from(
    { length: 30_000 },
    (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
  );

  it("splits 30,000 users by weight 1:1:2 (χ² within tolerance) and is deterministic", () => {
    const exp = { salt: "a1b2c3d4e5f60718", variants: variants([1, 1, 2]) };
    const counts = [0, 0, 0];
    for (const id of ids) {
      const i = Number(pickVariant(exp, id)?.id.slice(1));
      counts[i] = (counts[i] ?? 0) + 1;
    }
    const srm = sampleRatioMismatch(counts, [1, 1, 2]);
    expect(srm.mismatch).toBe(false);
    expect(srm.pValue).toBeGreaterThan(0.01);
    for (const [i, c] of counts.entries())
      expect(Math.abs(c / 30_000 - ([0.25, 0.25, 0.5][i] ?? 0))).toBeLessThan(0.01);
    expect(ids.slice(0, 100).map((id) => pickVariant(exp, id)?.id)).toEqual(
      ids.slice(0, 100).map((id) => pickVariant(exp, id)?.id),
    );
    // Another salt reshuffles users (independent experiments are not correlated).
    const other = { salt: "ffffffffffffffff", variants: exp.variants };
    const same =
      ids.filter((id) => pickVariant(exp, id)?.id === pickVariant(other, id)?.id).length / ids.length;
    expect(same).toBeGreaterThan(0.33);
    expect(same).toBeLessThan(0.42); // 0.25² + 0.25² + 0.5² = 0.375 if independent
  });

  it("holds the target population share, independently of the variant hash", () => {
    const exp = { populationPercent: 30, populationOffset: 0 };
    const inside = ids.filter((id) => inPopulation(exp, id)).length / ids.length;
    expect(Math.abs(inside - 0.3)).toBeLessThan(0.01);
    const u = ids.map((id) => populationPosition(id));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(100);
  });

  it("experiments on disjoint population slices never share a user (mutually exclusive); slices tile the space", () => {
    const slices = [
      { populationOffset: 0, populationPercent: 30 },
      { populationOffset: 30, populationPercent: 20 },
      { populationOffset: 50, populationPercent: 50 },
    ];
    const memberships = ids.map((id) => slices.filter((s) => inPopulation(s, id)).length);
    expect(memberships.every((n) => n === 1)).toBe(true);
    const [, mid] = slices;
    if (!mid) throw new Error("seed");
    const second = ids.filter((id) => inPopulation(mid, id)).length / ids.length;
    expect(Math.abs(second - 0.2)).toBeLessThan(0.01);
  });

  it("a new phase re-randomises: about half the users change variant on a 1:1 split", () => {
    const exp = { salt: "a1b2c3d4e5f60718", variants: variants([1, 1]) };
    const moved = ids.filter(
      (id) => pickVariant(exp, id)?.id !== pickVariant({ ...exp, phase: 2 }, id)?.id,
    ).length;
    expect(Math.abs(moved / ids.length - 0.5)).toBeLessThan(0.02);
    // Phase 1 is the historical hash: unchanged by the phase option.
    expect(ids.every((id) => pickVariant(exp, id)?.id === pickVariant({ ...exp, phase: 1 }, id)?.id)).toBe(
      true,
    );
  });
});

describe("sticky assignment across a weight change (real database)", () => {
  it("keeps every assigned user, buckets newcomers by the new weights, and starts a new SRM phase", async () => {
    const db = handle.db;
    const a = await createTestModelVersion(db);
    const b = await createTestModelVersion(db, { family: a.family });
    // A slice of its own: other files' experiments in this database run on other slices at the same time.
    const exp = await createExperiment(db, {
      name: uniqueId("sticky"),
      populationOffset: 0,
      populationPercent: 30,
      variants: [
        { name: "control", modelVersionId: a.id, weight: 1, isControl: true },
        { name: "b", modelVersionId: b.id, weight: 1 },
      ],
    });
    await startExperiment(db, { experimentId: exp.id });
    try {
      const users = [];
      for (let i = 0; i < 60; i++) users.push(await createTestUser(db));
      const before = new Map<string, string | null>();
      for (const u of users) before.set(u.id, (await resolveViewerVariant(db, u.id))?.variantId ?? null);
      // Another test file's running experiment may take some of these users first; follow the ones in ours.
      const ours = users.filter((u) => exp.variants.some((v) => v.id === before.get(u.id)));
      expect(ours.length).toBeGreaterThan(0);
      const [control, treatment] = exp.variants;
      if (!control || !treatment) throw new Error("seed");
      await setVariantWeights(db, {
        experimentId: exp.id,
        weights: { [control.id]: 0, [treatment.id]: 1 },
      });
      for (const u of ours) expect((await resolveViewerVariant(db, u.id))?.variantId).toBe(before.get(u.id));
      const m = await getExperimentMetrics(db, { experimentId: exp.id });
      expect(m.reduce((s, x) => s + x.users, 0)).toBe(ours.length);
      expect(m.reduce((s, x) => s + x.usersInPhase, 0)).toBe(0);
      // Newcomers follow the new weights: all to the treatment.
      const late = [];
      for (let i = 0; i < 10; i++) late.push(await createTestUser(db));
      for (const u of late) {
        const v = await resolveViewerVariant(db, u.id);
        if (v?.experimentId === exp.id) expect(v.variantId).toBe(treatment.id);
      }
    } finally {
      await stopExperiment(db, { experimentId: exp.id });
    }
  });
});
