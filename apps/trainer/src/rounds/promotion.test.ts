// The round's promotion policies on real parts (models/base as the parent, real training, export, registry, gate):
// "promote" moves production to the candidate (audited); "experiment at N%" starts an experiment through the
// experiments code path (startExperimentWhenServed: the serving hosts load the candidate before anyone is assigned),
// on the population no running experiment holds, and stays a draft with the reason when it cannot start. This file
// moves the production alias, so it runs on a database of its own (other files of the project rely on theirs).
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import {
  createDb,
  createExperiment,
  createPrompt,
  createRound,
  type DbHandle,
  findProductionModelVersion,
  getExperiment,
  getModelVersion,
  listExperimentEvents,
  listProductionAliasHistory,
  recordImage,
  reportServingHost,
  runMigrations,
  setProductionAlias,
  startExperiment,
  stopExperiment,
} from "@likewise/db";
import { encodePng, LocalArtifactStore, LocalBlobStore, loadModel, sampleImages } from "@likewise/serving";
import { evaluationPrompts, formatCaption, getRaterPreset, shortenDescription } from "@likewise/synth";

import { createLogger } from "../log.ts";
import { registerModelVersion } from "../registry.ts";
import { simulateVotes } from "../simulate.ts";
import { type PromotionOutcome, type RoundDeps, runRound } from "./runner.ts";

const server = new URL(inject("databaseUrl"));
const database = `likewise_test_promotion_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
const url = Object.assign(new URL(server), { pathname: `/${database}` }).toString();
const admin = createDb(server.toString(), { max: 1 });
let handle: DbHandle;
const home = mkdtempSync(join(tmpdir(), "likewise-promotion-"));
chmodSync(home, 0o755);
const blobs = LocalBlobStore.atHome(home);
const store = LocalArtifactStore.atHome(home);
const parentId = "promotion-parent";
const HOST_KIND = "promotion-test-host";
const log = createLogger({ test: "promotion" }, "error");
const deps = (): RoundDeps => ({
  db: handle.db,
  blobs,
  store,
  home,
  log,
  workerId: "w-promotion",
  heartbeatMs: 200,
  staleMs: 60_000,
  experimentHosts: { timeoutMs: 60_000, pollMs: 100, seenWithinMs: 60_000, hostKinds: [HOST_KIND] },
});
const tiny = (promotion: Record<string, unknown>) => ({
  steps: 2,
  batchSize: 4,
  warmupSteps: 1,
  workers: 0,
  checkpointEvery: 2,
  minLabels: 4,
  classBalance: [0, 1],
  gate: { prompts: 1, imagesPerPrompt: 1, samplingSteps: 10, minLikeRateDelta: -1, maxFidelityDrop: 1 },
  promotion,
});
let seed = 1;
const vote = async () => {
  const r = await simulateVotes(
    { db: handle.db, blobs },
    { rater: getRaterPreset("default"), votes: 6, users: 1, seed: seed++, modelVersionId: parentId },
  );
  expect(r.votes).toBe(6);
};
const outcomeOf = (metrics: unknown) => (metrics as { promotion?: PromotionOutcome }).promotion;

/** A serving host's heartbeat (as ServingHost writes it) reporting `candidate` in the given state. */
const heartbeat = (candidate: string, state: "loading" | "ready") =>
  reportServingHost(handle.db, {
    id: `${HOST_KIND}-1`,
    kind: HOST_KIND,
    hostname: "test",
    pid: process.pid,
    productionVersionId: parentId,
    isConverged: state === "ready",
    status: {
      versions: [
        { id: parentId, state: "ready" },
        { id: candidate, state },
      ],
    },
  });

beforeAll(async () => {
  await admin.sql.unsafe(`create database "${database}"`);
  await runMigrations(url);
  handle = createDb(url, { max: 6 });
  await registerModelVersion(handle.db, store, {
    sourceDir: resolve(import.meta.dirname, "../../../../models/base"),
    id: parentId,
  });
  await setProductionAlias(handle.db, { modelVersionId: parentId, kind: "initial" });
  const model = await loadModel(
    join(await store.open((await getModelVersion(handle.db, parentId)).artifactUri)),
    { intraOpNumThreads: 1 },
  );
  try {
    const prompts = evaluationPrompts(24).map((p) => formatCaption(shortenDescription(p.description, 16)));
    const out = await sampleImages(model, {
      prompts,
      seeds: prompts.map((_p, i) => 500 + i),
      steps: 10,
      guidanceScale: 3,
    });
    for (const [i, img] of out.images.entries()) {
      // Prompt texts are unique; a repeated caption gets a trailing space (the simulator's judge still parses it).
      const text = prompts[i] ?? "";
      const prompt = await createPrompt(handle.db, { text, source: "curated" }).catch(() =>
        createPrompt(handle.db, { text: `${text} `, source: "curated" }),
      );
      await recordImage(handle.db, {
        promptId: prompt.id,
        modelVersionId: parentId,
        seed: 500 + i,
        sampler: "ddim",
        steps: 10,
        guidance: 3,
        eta: 0,
        blobKey: await blobs.put(encodePng(img)),
        width: img.width,
        height: img.height,
      });
    }
  } finally {
    await model.host.release();
  }
}, 300_000);
afterAll(async () => {
  await handle.close();
  await admin.sql.unsafe(`drop database if exists "${database}" with (force)`);
  await admin.close();
});

describe("round promotion policies", () => {
  test("promote: a published candidate becomes production (alias moved and audited)", async () => {
    await vote();
    const round = await createRound(handle.db, {
      trigger: "manual",
      parentModelVersionId: parentId,
      objectiveConfig: tiny({ policy: "promote" }),
    });
    const ended = await runRound(deps(), round.id);
    expect(ended.status, ended.error ?? "").toBe("published");
    const candidate = ended.candidateModelVersionId ?? "";
    expect(candidate).toBe(`round-${round.id}`);
    expect((await findProductionModelVersion(handle.db))?.id).toBe(candidate);
    expect(outcomeOf(ended.metrics)).toEqual({ policy: "promote", productionModelVersionId: candidate });
    const last = (await listProductionAliasHistory(handle.db)).at(0);
    expect(last).toMatchObject({
      kind: "promote",
      fromModelVersionId: parentId,
      toModelVersionId: candidate,
    });
    expect(last?.reason).toContain(`round ${round.id} passed its gate`);
    // Back to the parent for the next tests.
    await setProductionAlias(handle.db, { modelVersionId: parentId, kind: "rollback", reason: "test" });
  });

  test("experiment at N%: started through the experiments path once the hosts serve the candidate, on the free population", async () => {
    // Another experiment already runs on [0, 30%): the candidate's experiment takes the rest, mutually exclusive.
    const other = await createExperiment(handle.db, {
      name: "running elsewhere",
      populationOffset: 0,
      populationPercent: 30,
      variants: [
        { name: "control", modelVersionId: parentId, weight: 1, isControl: true },
        { name: "same", modelVersionId: parentId, weight: 1 },
      ],
    });
    await startExperiment(handle.db, { experimentId: other.id });
    await vote();
    const round = await createRound(handle.db, {
      trigger: "manual",
      parentModelVersionId: parentId,
      objectiveConfig: tiny({ policy: "experiment", trafficPercent: 20 }),
    });
    const candidate = `round-${round.id}`;
    // The host is still loading the candidate when the round publishes; it reports ready a moment after the
    // experiment entered "starting".
    let readyAt: Date | undefined;
    let done = false;
    const host = (async () => {
      while (!done) {
        const [row] = await handle.sql<{ status: string }[]>`
          select e.status::text as status from experiment e join variant v on v.experiment_id = e.id where v.model_version_id = ${candidate}`;
        if (row?.status === "starting") {
          await new Promise((r) => setTimeout(r, 500));
          readyAt = new Date();
          await heartbeat(candidate, "ready");
          return;
        }
        await heartbeat(candidate, "loading");
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const ended = await runRound(deps(), round.id).finally(() => (done = true));
    await host;
    expect(ended.status, ended.error ?? "").toBe("published");
    const outcome = outcomeOf(ended.metrics);
    expect(outcome).toMatchObject({ policy: "experiment", status: "running", trafficPercent: 20 });
    const exp = await getExperiment(handle.db, outcome?.policy === "experiment" ? outcome.experimentId : "");
    expect(exp).toMatchObject({ status: "running", populationOffset: 30, populationPercent: 70 });
    expect(exp.variants.map((v) => [v.name, v.modelVersionId, v.weight, v.isControl]).sort()).toEqual([
      ["candidate", candidate, 20, false],
      ["parent", parentId, 80, true],
    ]);
    // Nobody could be assigned before the host served the candidate.
    expect(readyAt).toBeDefined();
    expect(exp.phaseStartedAt?.getTime() ?? 0).toBeGreaterThanOrEqual(readyAt?.getTime() ?? Infinity);
    const [started] = await listExperimentEvents(handle.db, { experimentId: exp.id });
    expect(started).toMatchObject({ kind: "started", actorId: null });
    expect(started?.reason).toContain(`round ${round.id} policy: candidate at 20% of traffic`);

    // With the whole population taken, the next candidate's experiment cannot start: it stays a draft, the round
    // still publishes, and the reason is recorded with it.
    await vote();
    const blocked = await createRound(handle.db, {
      trigger: "manual",
      parentModelVersionId: parentId,
      objectiveConfig: tiny({ policy: "experiment", trafficPercent: 10 }),
    });
    const ended2 = await runRound(deps(), blocked.id);
    expect(ended2.status, ended2.error ?? "").toBe("published");
    const outcome2 = outcomeOf(ended2.metrics);
    expect(outcome2).toMatchObject({ policy: "experiment", status: "draft" });
    expect(outcome2?.policy === "experiment" ? outcome2.error : "").toMatch(/overlaps running experiment/);
    expect(
      (await getExperiment(handle.db, outcome2?.policy === "experiment" ? outcome2.experimentId : "")).status,
    ).toBe("draft");
    await stopExperiment(handle.db, { experimentId: exp.id });
    await stopExperiment(handle.db, { experimentId: other.id });
  });
});
