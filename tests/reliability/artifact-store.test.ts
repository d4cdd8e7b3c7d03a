// A round whose artifact store cannot be written when it publishes its candidate (the store's folder is not a
// directory — a real filesystem error, ENOTDIR/EEXIST, as a full or read-only disk gives another): the round fails
// with the reason, nothing is published (no model_version row, nothing in the store, production unchanged), and its
// labels go back to the pool exactly once. Real parts: the shipped base model as the parent, images sampled from it
// through ONNX Runtime, the rater simulator's votes, tfjs training, ONNX export with parity.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterAll, beforeAll, expect, test } from "vitest";

import {
  createDb,
  createPrompt,
  createRound,
  type DbHandle,
  findProductionModelVersion,
  recordImage,
  releaseRoundLabels,
} from "@likewise/db";
import { encodePng, LocalArtifactStore, LocalBlobStore, loadModel, sampleImages } from "@likewise/serving";
import { evaluationPrompts, formatCaption, getRaterPreset, shortenDescription } from "@likewise/synth";

import { createLogger } from "../../apps/trainer/src/log.ts";
import { registerModelVersion } from "../../apps/trainer/src/registry.ts";
import { candidateIdOf, runRound } from "../../apps/trainer/src/rounds/runner.ts";
import { simulateVotes } from "../../apps/trainer/src/simulate.ts";
import { type OwnPostgres, startOwnPostgres } from "./helpers/own-postgres.ts";

// A database of its own: a round drains every unclaimed vote of its model family, so other files' votes (on images
// without blobs) must not be in reach.
let pg: OwnPostgres;
let handle: DbHandle;
const home = mkdtempSync(join(tmpdir(), "likewise-artifact-fault-"));
chmodSync(home, 0o755);
const tag = Date.now().toString(36);
const parentId = `artifact-fault-parent-${tag}`;
let simulated = 0;

beforeAll(async () => {
  pg = await startOwnPostgres();
  handle = createDb(pg.url, { max: 4 });
  const store = LocalArtifactStore.atHome(home);
  await registerModelVersion(handle.db, store, {
    sourceDir: resolve(import.meta.dirname, "../../models/base"),
    id: parentId,
  });
  const blobs = LocalBlobStore.atHome(home);
  const model = await loadModel(join(home, "models", parentId), { intraOpNumThreads: 1 });
  try {
    const captions = evaluationPrompts(12).map((p) => formatCaption(shortenDescription(p.description, 16)));
    const seeds = captions.map((_c, i) => 9100 + i);
    const out = await sampleImages(model, { prompts: captions, seeds, steps: 10, guidanceScale: 3 });
    for (const [i, img] of out.images.entries()) {
      // The simulated raters parse the caption: keep it in the grammar (a trailing space keeps it unique).
      const caption = captions[i] ?? "";
      const prompt = await createPrompt(handle.db, { text: caption, source: "curated" }).catch(() =>
        createPrompt(handle.db, { text: `${caption} `, source: "curated" }),
      );
      await recordImage(handle.db, {
        promptId: prompt.id,
        modelVersionId: parentId,
        seed: seeds[i] ?? 0,
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
  const sim = await simulateVotes(
    { db: handle.db, blobs },
    { rater: getRaterPreset("default"), votes: 16, users: 2, seed: 7711, modelVersionId: parentId },
  );
  simulated = sim.votes;
}, 300_000);

afterAll(async () => {
  await handle?.close();
  await pg?.close();
  rmSync(home, { recursive: true, force: true });
});

/** Label ids of this file's parent still in the pool (unclaimed). */
const poolIds = async () =>
  (
    await handle.sql<
      { id: string }[]
    >`select v.event_id::text as id from vote v join image i on i.id = v.image_id
      where i.model_version_id = ${parentId} and v.round_id is null order by v.event_id`
  ).map((r) => Number(r.id));

test("an unwritable artifact store while a round publishes: the round fails with the reason, nothing is published, the labels return once", async () => {
  const pool = await poolIds();
  expect(pool.length).toBe(simulated);
  expect(pool.length).toBeGreaterThanOrEqual(8);
  const productionBefore = await findProductionModelVersion(handle.db);
  // The broken store: its root is a regular file, so creating the version folder fails.
  mkdirSync(join(home, "broken"), { recursive: true });
  const brokenRoot = join(home, "broken", "models");
  writeFileSync(brokenRoot, "not a directory");
  const round = await createRound(handle.db, {
    trigger: "manual",
    parentModelVersionId: parentId,
    objectiveConfig: {
      steps: 2,
      batchSize: 8,
      warmupSteps: 1,
      workers: 0,
      checkpointEvery: 2,
      minLabels: 8,
      classBalance: [0, 1],
      gate: { prompts: 2, imagesPerPrompt: 1, samplingSteps: 10, minLikeRateDelta: -1, maxFidelityDrop: 1 },
    },
  });
  const phases: string[] = [];
  const ended = await runRound(
    {
      db: handle.db,
      blobs: LocalBlobStore.atHome(home),
      // Opening the parent's artifact (a file URI) works; writing the candidate into the store does not.
      store: new LocalArtifactStore(brokenRoot),
      home,
      log: createLogger({ test: "artifact-store-fault" }, "error"),
      workerId: "artifact-fault",
      heartbeatMs: 200,
    },
    round.id,
    { onProgress: (p) => void (phases.at(-1) !== p.phase && phases.push(p.phase)) },
  );
  expect(phases).toContain("exporting");
  expect(ended.status).toBe("failed");
  expect(ended.error).toMatch(/^exporting: .*(ENOTDIR|EEXIST|not a directory)/i);
  expect(ended.candidateModelVersionId).toBeNull();
  expect(ended.labelsReleasedAt).not.toBeNull();
  // Nothing published: no row for the candidate, nothing written where the store should be, production unchanged.
  const rows =
    await handle.sql`select id from model_version where id = ${candidateIdOf(round.id)} or round_id = ${round.id}::uuid`;
  expect(rows).toEqual([]);
  expect(statSync(brokenRoot).isFile()).toBe(true);
  expect((await findProductionModelVersion(handle.db))?.id).toBe(productionBefore?.id);
  // The labels are back in the pool, once.
  expect(await poolIds()).toEqual(pool);
  expect((await releaseRoundLabels(handle.db, { roundId: round.id })).released).toBe(0);
});
