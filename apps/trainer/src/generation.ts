// The generation pool and on-demand generations, both on the job queue and both sampled through the process's
// ServingHost. Every image: seed recorded, PNG in the blob store (sha256 key), an `image` row with full lineage.
import { randomInt } from "node:crypto";

import {
  completeGenerationRequest,
  type Db,
  failGenerationRequest,
  getGenerationRequest,
  getPrompt,
  listActiveModelVersionIds,
  listPoolCoverage,
  listStaleGenerationRequests,
  recordImage,
  resendGenerationJob,
  setGenerationProgress,
  startGenerationRequest,
} from "@likewise/db";
import { type JobInfo, type JobQueue, type PoolJob } from "@likewise/db/queue";
import { type BlobStore, encodePng, isServingError, type ServingHost } from "@likewise/serving";

import type { Logger } from "./log.ts";
import { POOL_SAMPLING } from "./sampling.ts";

export type GenerationDeps = {
  db: Db;
  queue: JobQueue;
  host: ServingHost;
  blobs: BlobStore;
  log: Logger;
  workerId: string;
  /** How long a job waits for its version to finish loading on this host before the attempt fails (default 30 s). */
  readyTimeoutMs?: number;
};

/** Images per pool job: small jobs keep a swap's drain short and spread work across workers. */
export const POOL_JOB_MAX_IMAGES = 4;

async function waitUntilReady(host: ServingHost, versionId: string | null, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (versionId === null ? host.production !== null : host.isReady(versionId)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Samples `seeds.length` images of one prompt on one version (production when null) → image ids and the version used. */
async function generateImages(
  deps: GenerationDeps,
  input: {
    promptId: string;
    promptText: string;
    versionId: string | null;
    seeds: number[];
    steps: number;
    guidance: number;
    onStep?: (done: number, total: number) => void;
  },
): Promise<{ versionId: string; imageIds: string[] }> {
  await waitUntilReady(deps.host, input.versionId, deps.readyTimeoutMs ?? 30_000);
  const { versionId, result } = await deps.host.generate(
    {
      prompts: input.seeds.map(() => input.promptText),
      seeds: input.seeds,
      steps: input.steps,
      guidanceScale: input.guidance,
      eta: POOL_SAMPLING.eta,
    },
    { versionId: input.versionId ?? undefined, onStep: input.onStep },
  );
  const imageIds: string[] = [];
  for (const [i, img] of result.images.entries()) {
    const blobKey = await deps.blobs.put(encodePng(img));
    const row = await recordImage(deps.db, {
      promptId: input.promptId,
      modelVersionId: versionId,
      seed: input.seeds[i] ?? 0,
      sampler: "ddim",
      steps: result.settings.steps,
      guidance: result.settings.guidanceScale,
      eta: result.settings.eta,
      blobKey,
      width: img.width,
      height: img.height,
    });
    imageIds.push(row.id);
  }
  return { versionId, imageIds };
}

/** Queue handler: one on-demand request. The row holds the state, so a duplicate delivery does nothing. */
export async function runGenerationJob(deps: GenerationDeps, requestId: string, job: JobInfo): Promise<void> {
  const req = await startGenerationRequest(deps.db, { id: requestId, workerId: deps.workerId });
  if (!req) return;
  const isLastAttempt = job.retryCount >= job.retryLimit;
  try {
    const prompt = await getPrompt(deps.db, req.promptId);
    let lastReport = 0;
    const { versionId, imageIds } = await generateImages(deps, {
      promptId: req.promptId,
      promptText: prompt.text,
      versionId: req.requestedModelVersionId,
      seeds: Array.from({ length: req.count }, (_, i) => req.seed + i),
      steps: req.steps,
      guidance: req.guidance,
      onStep: (done, total) => {
        const now = Date.now();
        if (now - lastReport < 250 || done === total) return;
        lastReport = now;
        void setGenerationProgress(deps.db, { id: requestId, progress: done / total }).catch(() => {});
      },
    });
    await completeGenerationRequest(deps.db, { id: requestId, modelVersionId: versionId, imageIds });
    deps.log.info("generation done", { requestId, versionId, images: imageIds.length });
  } catch (e) {
    // A bad request (out-of-range settings) will not get better on retry.
    const isFinal = isLastAttempt || isServingError(e, "INVALID_REQUEST");
    const message = e instanceof Error ? e.message : String(e);
    await failGenerationRequest(deps.db, { id: requestId, error: message, isFinal });
    deps.log.warn("generation failed", { requestId, attempt: job.retryCount + 1, isFinal, error: message });
    if (!isFinal) throw e;
  }
}

/** Queue handler: `count` more pool images of (version, prompt), unless the version left the active set meanwhile. */
export async function runPoolJob(deps: GenerationDeps, job: PoolJob): Promise<void> {
  const active = await listActiveModelVersionIds(deps.db);
  if (!active.includes(job.modelVersionId)) return;
  const prompt = await getPrompt(deps.db, job.promptId);
  const seeds = Array.from({ length: job.count }, () => randomInt(0, 2 ** 31));
  const { imageIds } = await generateImages(deps, {
    promptId: job.promptId,
    promptText: prompt.text,
    versionId: job.modelVersionId,
    seeds,
    steps: POOL_SAMPLING.steps,
    guidance: POOL_SAMPLING.guidanceScale,
  });
  deps.log.debug("pool images", {
    versionId: job.modelVersionId,
    promptId: job.promptId,
    images: imageIds.length,
  });
}

/** Enqueues refills for every (active version, active curated prompt) below `target` unrated images → jobs sent. */
export async function planPool(deps: Pick<GenerationDeps, "db" | "queue">, target: number): Promise<number> {
  const versions = await listActiveModelVersionIds(deps.db);
  const coverage = await listPoolCoverage(deps.db, { modelVersionIds: versions });
  let sent = 0;
  for (const c of coverage) {
    const missing = target - c.unrated;
    if (missing <= 0) continue;
    const id = await deps.queue.send(
      "pool",
      {
        modelVersionId: c.modelVersionId,
        promptId: c.promptId,
        count: Math.min(missing, POOL_JOB_MAX_IMAGES),
      },
      { singletonKey: `${c.modelVersionId}:${c.promptId}` },
    );
    if (id) sent++;
  }
  return sent;
}

/** Re-sends jobs of requests stuck queued/running for `olderThanMs` (a lost job or a crashed worker) → count. */
export async function resendStaleRequests(
  deps: Pick<GenerationDeps, "db" | "queue">,
  olderThanMs: number,
): Promise<number> {
  let n = 0;
  for (const req of await listStaleGenerationRequests(deps.db, { olderThanMs })) {
    if (await resendGenerationJob(deps.queue, req.id)) n++;
  }
  return n;
}

export { getGenerationRequest };
