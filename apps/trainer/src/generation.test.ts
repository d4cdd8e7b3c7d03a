// The trainer's generation side against real parts: PostgreSQL, pg-boss, ONNX Runtime (tiny contract models),
// the blob store on disk. On-demand requests go web-style through requestGeneration; the pool planner fills unrated
// images per (active version, curated prompt).
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import {
  createDb,
  createExperiment,
  GENERATION_DEFAULTS,
  startExperiment,
  getGenerationRequest,
  getImage,
  listPoolCoverage,
  modelRegistryFeed,
  requestGeneration,
  setProductionAlias,
} from "@likewise/db";
import { openJobQueue, type JobQueue } from "@likewise/db/queue";
import { createTestPrompt } from "@likewise/db/testing";
import { decodePng, LocalArtifactStore, LocalBlobStore, ServingHost } from "@likewise/serving";
import { writeTestArtifact } from "@likewise/serving/testing";

import { type GenerationDeps, planPool, runGenerationJob, runPoolJob } from "./generation.ts";
import { createLogger } from "./log.ts";
import { artifactResolver, registerModelVersion } from "./registry.ts";
import { POOL_SAMPLING } from "./sampling.ts";

const url = inject("databaseUrl");
const handle = createDb(url, { max: 4 });
const { db } = handle;
const home = mkdtempSync(join(tmpdir(), "likewise-generation-"));
chmodSync(home, 0o755);
const blobs = LocalBlobStore.atHome(home);
const store = LocalArtifactStore.atHome(home);
const tag = Date.now().toString(36);
let queue: JobQueue;
let host: ServingHost;
let detach: () => Promise<void>;
let production: string;
let standby: string;

beforeAll(async () => {
  const incoming = join(home, "incoming");
  production = (
    await registerModelVersion(db, store, {
      sourceDir: await writeTestArtifact(incoming, { id: `gen-${tag}-a` }),
    })
  ).version.id;
  standby = (
    await registerModelVersion(db, store, {
      sourceDir: await writeTestArtifact(incoming, {
        id: `gen-${tag}-b`,
        spec: { channelBias: [-0.3, 0.2, 0.1] },
      }),
    })
  ).version.id;
  await setProductionAlias(db, { modelVersionId: production, kind: "initial" });
  host = new ServingHost({
    resolveArtifact: artifactResolver(db, store),
    hostOptions: { intraOpNumThreads: 1 },
  });
  detach = await host.attach(modelRegistryFeed(handle), { reconcileIntervalMs: 500 });
  queue = await openJobQueue(url, { role: "worker" });
  const deps: GenerationDeps = {
    db,
    queue,
    host,
    blobs,
    log: createLogger({ test: "generation" }, "error"),
    workerId: "test-worker",
    readyTimeoutMs: 200,
  };
  await queue.work("generation", { pollingIntervalSeconds: 0.5 }, (p, job) =>
    runGenerationJob(deps, p.requestId, job),
  );
  await queue.work("pool", { pollingIntervalSeconds: 0.5 }, (p) => runPoolJob(deps, p));
});

afterAll(async () => {
  await queue.stop();
  await detach();
  await host.close();
  await handle.close();
  rmSync(home, { recursive: true, force: true });
});

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("on-demand generation", () => {
  test("a request's default steps and guidance are the served sampler's (the database cannot import it)", () => {
    expect(GENERATION_DEFAULTS).toMatchObject({
      steps: POOL_SAMPLING.steps,
      guidance: POOL_SAMPLING.guidanceScale,
    });
  });

  test("a user prompt goes through the queue: done, images from production with seeds seed+i, PNGs in the blob store", async () => {
    const req = await requestGeneration(db, queue, {
      userId: null,
      prompt: "red circle",
      count: 3,
      seed: 40,
      steps: 10,
    });
    const view = await until(
      () => getGenerationRequest(db, { id: req.id }),
      (v) => v.status === "done" || v.status === "failed",
    );
    expect(view).toMatchObject({
      status: "done",
      progress: 1,
      modelVersionId: production,
      attempts: 1,
      error: null,
    });
    expect(view.images.map((i) => i.seed)).toEqual([40, 41, 42]);
    for (const img of view.images) {
      const row = await getImage(db, img.id);
      expect(row).toMatchObject({
        modelVersionId: production,
        promptId: req.promptId,
        sampler: "ddim",
        steps: 10,
        guidance: 3,
        eta: 1, // the served sampler is ancestral
      });
      const png = await blobs.get(img.blobKey);
      expect(png).not.toBeNull();
      expect(decodePng(png ?? new Uint8Array())).toMatchObject({ width: 8, height: 8 });
    }
  });

  test("a version not loaded on this host fails after the queue's retries with the reason; production is unaffected", async () => {
    const req = await requestGeneration(db, queue, {
      userId: null,
      prompt: "blue square",
      count: 1,
      modelVersionId: standby,
    });
    const view = await until(
      () => getGenerationRequest(db, { id: req.id }),
      (v) => v.status === "failed",
      60_000,
    );
    expect(view.status).toBe("failed");
    expect(view.error).toMatch(new RegExp(`model version ${standby} is not ready`));
    expect(view.attempts).toBe(3);
    expect(host.production).toBe(production);
  });
});

describe("the pool", () => {
  test("planPool tops every (active version, curated prompt) up to the target, once", async () => {
    const prompts = [
      await createTestPrompt(db, { text: `red circle ${tag}` }),
      await createTestPrompt(db, { text: `blue square ${tag}` }),
    ];
    expect(await planPool({ db, queue }, 2)).toBeGreaterThanOrEqual(2);
    const mine = (c: { promptId: string }) => prompts.some((p) => p.id === c.promptId);
    const coverage = await until(
      async () => (await listPoolCoverage(db, { modelVersionIds: [production] })).filter(mine),
      (cs) => cs.length === 2 && cs.every((c) => c.unrated >= 2),
    );
    expect(coverage.map((c) => c.unrated)).toEqual([2, 2]);
    expect(await planPool({ db, queue }, 2)).toBe(0); // full: nothing more to queue
  });
});

describe("experiment variants", () => {
  test("a running experiment's variant is loaded by the host (reconcile), served on request and kept in the pool", async () => {
    const variant = (
      await registerModelVersion(db, store, {
        sourceDir: await writeTestArtifact(join(home, "incoming"), {
          id: `gen-${tag}-c`,
          spec: { channelBias: [0.4, -0.1, 0] },
        }),
      })
    ).version.id;
    const exp = await createExperiment(db, {
      name: `exp-${tag}`,
      variants: [
        { name: "control", modelVersionId: production, weight: 1, isControl: true },
        { name: "candidate", modelVersionId: variant, weight: 1 },
      ],
    });
    await startExperiment(db, { experimentId: exp.id });
    await until(
      () => Promise.resolve(host.isReady(variant)),
      (ready) => ready,
      10_000,
    );
    expect(host.production).toBe(production);

    const req = await requestGeneration(db, queue, {
      userId: null,
      prompt: "blue square",
      count: 2,
      modelVersionId: variant,
      steps: 10,
    });
    const view = await until(
      () => getGenerationRequest(db, { id: req.id }),
      (v) => v.status === "done" || v.status === "failed",
    );
    expect(view).toMatchObject({ status: "done", modelVersionId: variant, requestedModelVersionId: variant });
    expect(view.images.every((i) => i.modelVersionId === variant)).toBe(true);

    const prompt = await createTestPrompt(db, { text: `green ring ${tag}` });
    await planPool({ db, queue }, 1);
    const coverage = await until(
      async () =>
        (await listPoolCoverage(db, { modelVersionIds: [production, variant] })).filter(
          (c) => c.promptId === prompt.id,
        ),
      (cs) => cs.length === 2 && cs.every((c) => c.unrated >= 1),
    );
    expect(coverage.map((c) => c.unrated)).toEqual([1, 1]);
  });
});
