import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import { createDb } from "../client.ts";
import { openJobQueue, type JobQueue, type GenerationJob } from "../queue.ts";
import { expectDbError } from "../testing/expect-db-error.ts";
import {
  createTestImage,
  createTestModelVersion,
  createTestPrompt,
  createTestUser,
  fakeSha256,
} from "../testing/index.ts";
import { castVote } from "./vote.ts";
import {
  completeGenerationRequest,
  failGenerationRequest,
  getGenerationRequest,
  listStaleGenerationRequests,
  requestGeneration,
  setGenerationProgress,
  startGenerationRequest,
} from "./generation.ts";
import { getGenerationBacklog, listPoolCoverage } from "./pool.ts";

const url = inject("databaseUrl");
const { db, close } = createDb(url, { max: 4 });
let queue: JobQueue;
beforeAll(async () => {
  queue = await openJobQueue(url, { role: "worker" });
});
afterAll(async () => {
  await queue.stop();
  await close();
});

describe("generation requests", () => {
  it("requestGeneration stores a user prompt + queued row and enqueues a job whose id is the request id; a worker receives it", async () => {
    const user = await createTestUser(db);
    const received: GenerationJob[] = [];
    const done = new Promise<void>((resolve) => {
      void queue.work("generation", { pollingIntervalSeconds: 0.5 }, (payload) => {
        received.push(payload);
        resolve();
        return Promise.resolve();
      });
    });
    const req = await requestGeneration(db, queue, {
      userId: user.id,
      prompt: "  a red circle  ",
      count: 3,
      seed: 7,
    });
    expect(req).toMatchObject({
      status: "queued",
      count: 3,
      seed: 7,
      steps: 50,
      guidance: 3,
      progress: 0,
      userId: user.id,
    });
    await done;
    expect(received).toContainEqual({ requestId: req.id });
    // The job id is the request id: re-sending while it exists is deduplicated by pg-boss.
    expect(await queue.send("generation", { requestId: req.id }, { id: req.id })).toBeNull();
  });

  it("worker lifecycle: start → progress → done with images in seed order; getGenerationRequest scopes by user", async () => {
    const user = await createTestUser(db);
    const other = await createTestUser(db);
    const version = await createTestModelVersion(db);
    const req = await requestGeneration(
      db,
      { send: () => Promise.resolve("job") },
      { userId: user.id, prompt: "blue square", count: 2, seed: 100 },
    );

    const running = await startGenerationRequest(db, { id: req.id, workerId: "w1" });
    expect(running).toMatchObject({ status: "running", attempts: 1, workerId: "w1" });
    await setGenerationProgress(db, { id: req.id, progress: 0.5 });
    expect((await getGenerationRequest(db, { id: req.id })).progress).toBe(0.5);

    const imgs = [
      await createTestImage(db, { promptId: req.promptId, modelVersionId: version.id, seed: 101 }),
      await createTestImage(db, { promptId: req.promptId, modelVersionId: version.id, seed: 100 }),
    ];
    await expectDbError(
      completeGenerationRequest(db, {
        id: req.id,
        modelVersionId: version.id,
        imageIds: [imgs[0]?.id ?? ""],
      }),
      "INVALID_INPUT",
    );
    const done = await completeGenerationRequest(db, {
      id: req.id,
      modelVersionId: version.id,
      imageIds: imgs.map((i) => i.id),
    });
    expect(done).toMatchObject({ status: "done", progress: 1, modelVersionId: version.id });
    expect(done.finishedAt).toBeInstanceOf(Date);

    const view = await getGenerationRequest(db, { id: req.id, userId: user.id });
    expect(view.images.map((i) => i.seed)).toEqual([100, 101]);
    expect(view.images.every((i) => i.modelVersionId === version.id)).toBe(true);
    await expectDbError(getGenerationRequest(db, { id: req.id, userId: other.id }), "NOT_FOUND");

    // A duplicate delivery of a finished request does no work.
    expect(await startGenerationRequest(db, { id: req.id, workerId: "w2" })).toBeNull();
  });

  it("a failed attempt goes back to queued; a final failure keeps the error; stale requests are listed", async () => {
    const req = await requestGeneration(
      db,
      { send: () => Promise.resolve("job") },
      { userId: null, prompt: "green triangle", count: 1 },
    );
    await startGenerationRequest(db, { id: req.id, workerId: "w1" });
    await failGenerationRequest(db, { id: req.id, error: "boom", isFinal: false });
    expect(await getGenerationRequest(db, { id: req.id })).toMatchObject({ status: "queued", error: "boom" });
    expect((await listStaleGenerationRequests(db, { olderThanMs: 0 })).map((r) => r.id)).toContain(req.id);
    expect(
      (await listStaleGenerationRequests(db, { olderThanMs: 3_600_000 })).map((r) => r.id),
    ).not.toContain(req.id);

    expect(await startGenerationRequest(db, { id: req.id, workerId: "w2" })).toMatchObject({
      attempts: 2,
      error: null,
    });
    await failGenerationRequest(db, { id: req.id, error: "model refused", isFinal: true });
    const failed = await getGenerationRequest(db, { id: req.id });
    expect(failed).toMatchObject({ status: "failed", error: "model refused" });
    expect(failed.finishedAt).toBeInstanceOf(Date);
  });

  it("bad input and an unavailable queue are typed errors; a refused enqueue marks the request failed", async () => {
    const user = await createTestUser(db);
    await expectDbError(
      requestGeneration(db, queue, { userId: user.id, prompt: "x", count: 0 }),
      "INVALID_INPUT",
    );
    await expectDbError(
      requestGeneration(db, queue, { userId: user.id, prompt: "x", count: 17 }),
      "INVALID_INPUT",
    );
    await expectDbError(requestGeneration(db, queue, { userId: user.id }), "INVALID_INPUT");
    await expectDbError(requestGeneration(db, queue, { userId: user.id, prompt: "   " }), "INVALID_INPUT");
    await expectDbError(
      requestGeneration(db, queue, { userId: user.id, prompt: "x", modelVersionId: "no-such-version" }),
      "NOT_FOUND",
    );
    await expectDbError(
      startGenerationRequest(db, { id: "00000000-0000-4000-8000-000000000000", workerId: "w" }),
      "NOT_FOUND",
    );

    const broken = {
      send: () => Promise.reject(new Error("connection refused")),
    };
    const err = await expectDbError(
      requestGeneration(db, broken, { userId: user.id, prompt: "red circle" }),
      "UNAVAILABLE",
    );
    expect(err.retryable).toBe(true);
  });
});

describe("image pool coverage", () => {
  it("counts visible images nobody voted on per (version, active curated prompt), zero-filled", async () => {
    const version = await createTestModelVersion(db);
    const p1 = await createTestPrompt(db);
    const p2 = await createTestPrompt(db);
    const inactive = await createTestPrompt(db, { isActive: false });
    await createTestImage(db, { modelVersionId: version.id, promptId: p1.id });
    await createTestImage(db, { modelVersionId: version.id, promptId: p1.id, blobKey: fakeSha256() });
    const voted = await createTestImage(db, { modelVersionId: version.id, promptId: p1.id });
    await castVote(db, { userId: (await createTestUser(db)).id, imageId: voted.id, value: "like" });
    await createTestImage(db, { modelVersionId: version.id, promptId: inactive.id });

    const coverage = await listPoolCoverage(db, { modelVersionIds: [version.id] });
    const of = (promptId: string) => coverage.find((c) => c.promptId === promptId)?.unrated;
    expect(of(p1.id)).toBe(2);
    expect(of(p2.id)).toBe(0);
    expect(of(inactive.id)).toBeUndefined();
    expect(await listPoolCoverage(db, { modelVersionIds: [] })).toEqual([]);

    const backlog = await getGenerationBacklog(db, { poolTarget: 4 });
    expect(backlog.poolTarget).toBe(4);
    expect(Object.keys(backlog.requests).sort()).toEqual(["done", "failed", "queued", "running"]);
  });
});
