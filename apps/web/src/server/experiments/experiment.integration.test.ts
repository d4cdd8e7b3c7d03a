// An experiment end to end through the real router, database and a real serving host (ONNX Runtime on two tiny
// contract models): the host learns of the start by NOTIFY (its periodic reconcile is set to a minute) and loads
// the treatment before anyone is assigned; simulated users, assigned by the feed's own sticky bucketing, like the
// treatment's images more; the analysis recommends it, an admin promotes it and production (alias and host) moves.
// A second experiment with a broken 70/30 split on a 50/50 design is blocked by the sample-ratio check.
// Runs in a database of its own: it moves the production alias, which the other web tests rely on.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";

import {
  assignVariant,
  castVote,
  createDb,
  type DbHandle,
  findProductionModelVersion,
  getExperiment,
  type Image,
  modelRegistryFeed,
  recordExposure,
  recordModelVersion,
  reportServingHost,
  runMigrations,
  setProductionAlias,
} from "@likewise/db";
import { createTestImage, createTestPrompt, createTestUser, fakeSha256 } from "@likewise/db/testing";
import { ServingHost } from "@likewise/serving";
import { writeTestArtifact } from "@likewise/serving/testing";

import { createCaller } from "../api/root";
import { createRateLimiters } from "../rate-limit";
import { resolveViewerVariant } from "../services/variant";

const serverUrl = inject("databaseUrl");
const database = `likewise_exp_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
const home = mkdtempSync(join(tmpdir(), "likewise-exp-"));
const HOST_KIND = `exp-test-${randomBytes(3).toString("hex")}`;
let admin: DbHandle;
let handle: DbHandle;
let host: ServingHost;
let detach: () => Promise<void>;
const folders = new Map<string, string>();
let base = "";
let aligned = "";

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Mulberry32: a seeded uniform RNG, so the simulated users behave the same on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function caller(role: "admin" | "analyst") {
  const u = await createTestUser(handle.db, { role });
  return createCaller({
    db: handle.db,
    viewer: { id: u.id, email: u.email, role },
    ip: "10.1.0.1",
    limits: createRateLimiters(1000),
    services: {
      vocabulary: () => Promise.resolve(null),
      queue: () => Promise.reject(new Error("no queue in this test")),
      experimentHosts: { timeoutMs: 30_000, pollMs: 100, seenWithinMs: 30_000, hostKinds: [HOST_KIND] },
    },
  });
}

beforeAll(async () => {
  admin = createDb(serverUrl, { max: 1 });
  await admin.sql.unsafe(`create database "${database}"`);
  const url = withDatabase(serverUrl, database);
  await runMigrations(url);
  handle = createDb(url, { max: 8 });
  const tag = randomBytes(3).toString("hex");
  for (const [id, spec] of [
    [`base-${tag}`, {}],
    [`aligned-${tag}`, { channelBias: [-0.3, 0.2, 0.1] }],
  ] as const) {
    const dir = await writeTestArtifact(home, { id, spec });
    folders.set(id, dir);
    await recordModelVersion(handle.db, {
      id,
      family: "contract",
      status: "registered",
      artifactUri: dir,
      sha256: fakeSha256(id),
    });
  }
  base = `base-${tag}`;
  aligned = `aligned-${tag}`;
  await setProductionAlias(handle.db, { modelVersionId: base, kind: "initial" });
  host = new ServingHost({
    resolveArtifact: (id) => {
      const dir = folders.get(id);
      return dir ? Promise.resolve(dir) : Promise.reject(new Error(`unknown version ${id}`));
    },
    hostOptions: { intraOpNumThreads: 1 },
  });
  detach = await host.attach(modelRegistryFeed(handle), {
    reconcileIntervalMs: 60_000, // only a NOTIFY can make it load the experiment's version in time
    report: async (status) => {
      await reportServingHost(handle.db, {
        id: `host-${tag}`,
        kind: HOST_KIND,
        hostname: "test",
        pid: process.pid,
        productionVersionId: status.production,
        isConverged: status.isConverged,
        status,
      });
    },
  });
  await vi.waitFor(() => expect(host.production).toBe(base), { timeout: 30_000 });
}, 120_000);

afterAll(async () => {
  await detach?.();
  await handle?.close();
  await admin.sql.unsafe(`drop database if exists "${database}" with (force)`);
  await admin.close();
  rmSync(home, { recursive: true, force: true });
});

describe("an experiment from start to promotion", () => {
  it("loads on the host before assignment, finds the better version, promotes it; a broken split blocks", async () => {
    const db = handle.db;
    const adminCaller = await caller("admin");
    const analyst = await caller("analyst");
    const exp = await analyst.admin.experiments.create({
      name: "aligned vs base",
      hypothesis: "alignment raises the like rate",
      // Half the population, [30, 80): other files' experiments in this database run on other slices meanwhile.
      populationOffset: 30,
      populationPercent: 50,
      // 500 random users, half of them in the slice, split 1:1: each arm ~ Binomial(500, 1/4), mean 125, sd 9.7.
      // A minimum of 100 failed one CI run in ~100 (z = −2.6); 70 is 5.7 sd below the mean.
      minSamplePerVariant: 70,
      variants: [
        { name: "base", modelVersionId: base, weight: 1, isControl: true },
        { name: "aligned", modelVersionId: aligned, weight: 1 },
      ],
    });
    // Analysts create and read; only admins start and decide.
    await expect(analyst.admin.experiments.start({ experimentId: exp.id })).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
    expect(host.status().versions.find((v) => v.id === aligned)).toBeUndefined();

    const started = await adminCaller.admin.experiments.start({ experimentId: exp.id });
    expect(started.experiment.status).toBe("running");
    expect(started.hosts).toEqual([expect.objectContaining({ kind: HOST_KIND, pending: [], failed: [] })]);
    // Mutually exclusive only: an experiment on an overlapping slice cannot start while this one runs (typed error).
    const overlapping = await analyst.admin.experiments.create({
      name: "overlapping",
      populationOffset: 50,
      populationPercent: 10,
      variants: [
        { name: "base", modelVersionId: base, weight: 1, isControl: true },
        { name: "aligned", modelVersionId: aligned, weight: 1 },
      ],
    });
    const conflict = await adminCaller.admin.experiments
      .start({ experimentId: overlapping.id })
      .catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(TRPCError);
    expect(conflict).toMatchObject({ code: "CONFLICT" });
    expect((conflict as TRPCError).message).toMatch(
      /overlaps running experiment aligned vs base \(30–80%\): stop it first, or give this experiment a disjoint population slice/,
    );
    expect((await getExperiment(db, overlapping.id)).status).toBe("draft");

    // The host had the treatment ready before the experiment ran (so before any assignment).
    const ready = host.status().versions.find((v) => v.id === aligned);
    expect(ready?.state).toBe("ready");
    expect(new Date(ready?.readyAt ?? 0).getTime()).toBeLessThanOrEqual(
      started.experiment.startedAt?.getTime() ?? 0,
    );

    // Simulated users: like probability 0.45 on base, 0.65 on aligned; 6 images shown, 5 rated each.
    const prompt = await createTestPrompt(db);
    const imagesOf: Record<string, Image[]> = { [base]: [], [aligned]: [] };
    for (const v of [base, aligned])
      for (let i = 0; i < 6; i++)
        imagesOf[v]?.push(await createTestImage(db, { modelVersionId: v, promptId: prompt.id }));
    const random = rng(9);
    const pLike: Record<string, number> = { [base]: 0.45, [aligned]: 0.65 };
    const users = [];
    for (let i = 0; i < 500; i++) users.push(await createTestUser(db));
    const first = new Map<string, string>();
    for (let b = 0; b < users.length; b += 20) {
      await Promise.all(
        users.slice(b, b + 20).map(async (u) => {
          const v = await resolveViewerVariant(db, u.id);
          if (v?.experimentId !== exp.id || !v.variantId) return; // outside this experiment's slice
          first.set(u.id, v.variantId);
          const imgs = imagesOf[v.modelVersionId] ?? [];
          for (const [k, img] of imgs.entries()) {
            await recordExposure(db, {
              userId: u.id,
              imageId: img.id,
              experimentId: v.experimentId,
              variantId: v.variantId,
            });
            if (k < 5)
              await castVote(db, {
                userId: u.id,
                imageId: img.id,
                value: random() < (pLike[v.modelVersionId] ?? 0) ? "like" : "dislike",
              });
          }
        }),
      );
    }
    // Sticky: asking again gives every user the same variant.
    expect(first.size).toBeGreaterThan(200); // ≈ 50% of 500
    for (const u of users.slice(0, 50))
      if (first.has(u.id)) expect((await resolveViewerVariant(db, u.id))?.variantId).toBe(first.get(u.id));

    const { analysis, series } = await analyst.admin.experiments.results({ experimentId: exp.id });
    const treatment = analysis.variants.find((v) => v.name === "aligned");
    const c = treatment?.comparisons.like_rate_per_vote;
    expect(analysis.srm.mismatch).toBe(false);
    expect(analysis.readiness).toMatchObject({ ready: true }); // on failure, shows the sample sizes
    expect(c?.difference).toBeGreaterThan(0.1);
    expect(c?.sequential.pValue).toBeLessThan(0.05);
    expect(c?.bayesian.chanceToBeatControl).toBeGreaterThan(0.99);
    expect(analysis.recommendation).toMatchObject({ kind: "promote", variantId: treatment?.variantId });
    expect(series).toHaveLength(12);

    const decided = await adminCaller.admin.experiments.decide({
      experimentId: exp.id,
      action: "promote",
      variantId: treatment?.variantId,
      reason: "aligned wins on like rate",
    });
    expect(decided.status).toBe("decided");
    expect((await findProductionModelVersion(db))?.id).toBe(aligned);
    await vi.waitFor(() => expect(host.production).toBe(aligned), { timeout: 30_000 });
    // After the decision the feed serves production (the new one) to everybody.
    expect(await resolveViewerVariant(db, users[0]?.id ?? "")).toMatchObject({
      modelVersionId: aligned,
      experimentId: null,
    });

    // Broken assignment: 70/30 on a 50/50 design (e.g. a redirect that drops users) → promotion refused.
    const srmExp = await analyst.admin.experiments.create({
      name: "broken split",
      populationOffset: 30,
      populationPercent: 50,
      minSamplePerVariant: 10,
      variants: [
        { name: "control", modelVersionId: aligned, weight: 1, isControl: true },
        { name: "other", modelVersionId: base, weight: 1 },
      ],
    });
    await adminCaller.admin.experiments.start({ experimentId: srmExp.id });
    const full = await getExperiment(db, srmExp.id);
    const [ctl, other] = full.variants;
    for (const [i, u] of users.slice(0, 300).entries())
      await assignVariant(db, {
        experimentId: srmExp.id,
        userId: u.id,
        variantId: (i % 10 < 7 ? ctl?.id : other?.id) ?? "",
      });
    const srm = await analyst.admin.experiments.results({ experimentId: srmExp.id });
    expect(srm.analysis.srm.mismatch).toBe(true);
    expect(srm.analysis.recommendation.kind).toBe("blocked");
    const refused = await adminCaller.admin.experiments
      .decide({ experimentId: srmExp.id, action: "promote", variantId: other?.id, reason: "x" })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TRPCError);
    expect(refused).toMatchObject({ code: "PRECONDITION_FAILED" });
    expect((refused as TRPCError).message).toMatch(/sample-ratio mismatch/);
    expect((await findProductionModelVersion(db))?.id).toBe(aligned);
    // A new phase (e.g. after fixing the redirect) re-randomises everyone: the broken split stays on record as
    // phase 1's SRM, phase 2 starts clean (no users yet, so nothing to decide), and both are audited.
    await adminCaller.admin.experiments.newPhase({ experimentId: srmExp.id, reason: "redirect fixed" });
    const phased = await analyst.admin.experiments.results({ experimentId: srmExp.id });
    expect(phased.experiment.phase).toBe(2);
    expect(phased.phases.map((p) => [p.phase, p.srm.mismatch])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(phased.phases[0]?.users).toEqual({ control: 210, other: 90 });
    expect(phased.analysis.variants.map((v) => v.counts.users)).toEqual([0, 0]);
    expect(phased.analysis.recommendation.kind).toBe("wait");
    expect(phased.events.map((e) => [e.kind, e.reason])).toEqual([
      ["started", ""],
      ["phase", "redirect fixed"],
    ]);
    // Rolling back (keeping control) stays possible.
    await adminCaller.admin.experiments.decide({
      experimentId: srmExp.id,
      action: "rollback",
      reason: "broken split",
    });
  }, 300_000);
});
