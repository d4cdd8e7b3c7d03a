// Alignment rounds against real parts: PostgreSQL, the shipped base model (models/base) as the parent, images sampled
// from it through ONNX Runtime into the blob store, votes cast by the rater simulator through the feed/vote verbs,
// real tfjs training with the parent's ONNX graph as the reference, export with parity, registration, and the gate.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import {
  countLabelPool,
  createDb,
  createPrompt,
  createRound,
  getModelVersion,
  getRound,
  listRoundLabels,
  recordImage,
  releaseRoundLabels,
  type Round,
  updateRoundStatus,
} from "@likewise/db";
import {
  decodePng,
  encodePng,
  LocalArtifactStore,
  LocalBlobStore,
  loadModel,
  sampleImages,
} from "@likewise/serving";
import { evaluationPrompts, formatCaption, getRaterPreset, shortenDescription } from "@likewise/synth";

import { createLogger } from "../log.ts";
import { registerModelVersion } from "../registry.ts";
import { simulateVotes } from "../simulate.ts";
import { exportRoundDataset } from "./export.ts";
import { type RoundDeps, roundDir, runRound } from "./runner.ts";

const url = inject("databaseUrl");
const handle = createDb(url, { max: 6 });
const { db } = handle;
const home = mkdtempSync(join(tmpdir(), "likewise-rounds-"));
chmodSync(home, 0o755);
const blobs = LocalBlobStore.atHome(home);
const store = LocalArtifactStore.atHome(home);
const tag = Date.now().toString(36);
const parentId = `round-parent-${tag}`;
const log = createLogger({ test: "rounds" }, "error");
const deps = (workerId: string): RoundDeps => ({
  db,
  blobs,
  store,
  home,
  log,
  workerId,
  heartbeatMs: 200,
  staleMs: 60_000,
});
const rater = getRaterPreset("default");

/** A small config: a few steps of real KTO training, a tiny gate. */
const tiny = (over: Record<string, unknown> = {}, gate: Record<string, unknown> = {}) => ({
  steps: 4,
  batchSize: 8,
  warmupSteps: 1,
  workers: 0,
  checkpointEvery: 2,
  minLabels: 8,
  classBalance: [0, 1],
  gate: {
    prompts: 2,
    imagesPerPrompt: 1,
    samplingSteps: 10,
    minLikeRateDelta: -1,
    maxFidelityDrop: 1,
    ...gate,
  },
  ...over,
});

let images = 0;
/** n more images of the parent in the feed: real samples of evaluation-set prompts, stored as PNG blobs. */
async function addImages(n: number) {
  const model = await loadModel(join(await store.open((await getModelVersion(db, parentId)).artifactUri)), {
    intraOpNumThreads: 1,
  });
  try {
    const prompts = evaluationPrompts(n + images).slice(images);
    const captions = prompts.map((p) => formatCaption(shortenDescription(p.description, 16)));
    const seeds = captions.map((_c, i) => 7000 + images + i);
    const out = await sampleImages(model, { prompts: captions, seeds, steps: 10, guidanceScale: 3 });
    for (const [i, img] of out.images.entries()) {
      const caption = captions[i] ?? "";
      const prompt = await createPrompt(db, { text: `${caption}`, source: "curated" }).catch(async () =>
        createPrompt(db, { text: `${caption} `, source: "curated" }),
      );
      await recordImage(db, {
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
    images += n;
  } finally {
    await model.host.release();
  }
}

const vote = (n: number, seed: number, users = 2) =>
  simulateVotes({ db, blobs }, { rater, votes: n, users, seed, modelVersionId: parentId });
const labelIdsOf = async (roundId: string) => (await listRoundLabels(db, { roundId })).map((l) => l.labelId);
const poolIds = async () =>
  (
    await handle.sql<
      { id: string }[]
    >`select v.event_id::text as id from vote v join image i on i.id = v.image_id where i.model_version_id = ${parentId} and v.round_id is null order by v.event_id`
  ).map((r) => Number(r.id));
const claimedBy = async (roundId: string) =>
  (
    await handle.sql<
      { id: string }[]
    >`select event_id::text as id from vote where round_id = ${roundId}::uuid order by event_id`
  ).map((r) => Number(r.id));
/** Rounds of this file only: others in the shared database are not ours to touch. */
async function quiesce() {
  await handle.sql`update alignment_round set status = 'canceled', finished_at = now() where parent_model_version_id = ${parentId} and finished_at is null`;
}

beforeAll(async () => {
  await registerModelVersion(db, store, {
    sourceDir: resolve(import.meta.dirname, "../../../../models/base"),
    id: parentId,
  });
  await addImages(12);
}, 300_000);
afterAll(async () => {
  await quiesce();
  await handle.close();
});

describe("alignment rounds end to end", () => {
  let first: Round;

  test("simulated votes → a round drains, trains, exports, passes its gate and publishes; its manifest is exactly the claimed labels", async () => {
    const sim = await vote(16, 1);
    expect(sim.votes).toBe(16);
    const before = await poolIds();
    expect(before).toHaveLength(16);
    const round = await createRound(db, {
      trigger: "manual",
      parentModelVersionId: parentId,
      objectiveConfig: tiny(),
    });
    const phases: string[] = [];
    first = await runRound(deps("w-a"), round.id, {
      onProgress: (p) => void (phases.at(-1) !== p.phase && phases.push(p.phase)),
    });
    expect(first.status, first.error ?? "").toBe("published");
    expect(phases).toEqual(["draining", "training", "exporting", "evaluating", "published"]);
    expect(await labelIdsOf(round.id)).toEqual(before);
    expect(await claimedBy(round.id)).toEqual(before);
    expect(await poolIds()).toEqual([]);
    expect(first.labelCountDesirable + first.labelCountUndesirable).toBe(16);
    const candidate = await getModelVersion(db, first.candidateModelVersionId ?? "");
    expect(candidate).toMatchObject({ status: "registered", roundId: round.id, parentId });
    const gate = first.metrics.gate as {
      passed: boolean;
      parent: { likeRate: number };
      candidate: { likeRate: number };
      contactSheetBlobKey: string;
    };
    expect(gate.passed).toBe(true);
    expect(gate.parent.likeRate).toBeGreaterThan(0);
    expect(await blobs.has(gate.contactSheetBlobKey)).toBe(true);
    // Under each image of the sheet, its P(like) as a meter: the filled (default meter ink) and unfilled parts.
    const sheet = decodePng((await blobs.get(gate.contactSheetBlobKey)) ?? new Uint8Array());
    const count = (rgb: readonly number[]) => {
      let n = 0;
      for (let i = 0; i < sheet.data.length; i += 3)
        if (sheet.data[i] === rgb[0] && sheet.data[i + 1] === rgb[1] && sheet.data[i + 2] === rgb[2]) n++;
      return n;
    };
    expect(count([90, 200, 110])).toBeGreaterThan(0);
    expect(count([46, 83, 53])).toBeGreaterThan(0);
    const progress = first.progress as {
      step: number;
      totalSteps: number;
      series: { step: number; loss: number; z?: number }[];
    };
    expect(progress).toMatchObject({ step: 4, totalSteps: 4 });
    // The gate's sampling count ends complete (the round page shows it after the round).
    expect(first.progress).toMatchObject({ evaluated: 4, toEvaluate: 4 });
    expect(progress.series.map((p) => p.step)).toEqual([1, 2, 3, 4]);
    expect(progress.series.every((p) => Number.isFinite(p.loss) && p.z !== undefined)).toBe(true);

    // The dataset export lists the same labels, with images next to the JSONL.
    const out = join(home, "export");
    expect(await exportRoundDataset({ db, blobs }, round.id, out)).toBe(16);
    const lines = readFileSync(join(out, "labels.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { labelId: number; image: string; label: number });
    expect(lines.map((l) => l.labelId)).toEqual(before);
    expect(lines.every((l) => existsSync(join(out, l.image)) && Math.abs(l.label) === 1)).toBe(true);
  });

  test("a second round claims only the labels cast since; trained on guided predictions, its policy starts level with the guided reference", async () => {
    await addImages(4);
    await vote(8, 2, 1);
    const fresh = await poolIds();
    expect(fresh).toHaveLength(8);
    const round = await createRound(db, {
      trigger: "manual",
      parentModelVersionId: parentId,
      objectiveConfig: tiny({ trainingGuidance: 3 }),
    });
    const ended = await runRound(deps("w-a"), round.id);
    expect(ended.status, ended.error ?? "").toBe("published");
    // Step 1 is measured before any update, so the policy is the parent. If the runner guided only one side (the
    // policy in tfjs or the reference in ONNX Runtime), the two would differ by the guidance term (kl ≈ 6e-3, measured
    // with the reference left unguided), not by the two runtimes' float error (parity ≈ 1e-6 per element, so a mean
    // squared drift ≪ 1e-8).
    const [start] = (ended.progress as { series: { step: number; kl?: number; rewardDesirable?: number }[] })
      .series;
    expect(start?.step).toBe(1);
    expect(start?.kl).toBeLessThan(1e-8);
    expect(Math.abs(start?.rewardDesirable ?? 1)).toBeLessThan(1e-6);
    expect(await labelIdsOf(round.id)).toEqual(fresh);
    const overlap = (await labelIdsOf(first.id)).filter((id) => fresh.includes(id));
    expect(overlap).toEqual([]);
  });

  test("a round that fails its gate publishes nothing and releases its labels once", async () => {
    await vote(10, 3, 2);
    const pool = await poolIds();
    expect(pool.length).toBeGreaterThanOrEqual(8);
    const round = await createRound(db, {
      trigger: "manual",
      parentModelVersionId: parentId,
      objectiveConfig: tiny({}, { minLikeRateDelta: 1 }),
    });
    const ended = await runRound(deps("w-a"), round.id);
    expect(ended.status).toBe("rejected");
    expect(ended.candidateModelVersionId).toBeNull();
    expect(ended.error).toMatch(/^gate: like rate/);
    expect(ended.labelsReleasedAt).not.toBeNull();
    expect((await getModelVersion(db, `round-${round.id}`)).status).toBe("retired");
    expect(await poolIds()).toEqual(pool);
    expect(await claimedBy(round.id)).toEqual([]);
    expect((await releaseRoundLabels(db, { roundId: round.id })).released).toBe(0);
    expect((await countLabelPool(db, { family: "tiny" })).total).toBeGreaterThanOrEqual(pool.length);
  });

  test("too few labels: the round is skipped with the reason and releases what it claimed", async () => {
    const pool = await poolIds();
    const round = await createRound(db, {
      trigger: "manual",
      parentModelVersionId: parentId,
      objectiveConfig: tiny({ minLabels: 1000 }),
    });
    const ended = await runRound(deps("w-a"), round.id);
    expect(ended.status).toBe("failed");
    expect(ended.error).toMatch(/not enough labels: \d+ claimed, the config asks for at least 1000/);
    expect(await poolIds()).toEqual(pool);
  });

  test("cancel mid-training: the worker stops at its next heartbeat, the labels return to the pool, nothing is published", async () => {
    await quiesce();
    await vote(8, 6, 1);
    const pool = await poolIds();
    expect(pool.length).toBeGreaterThanOrEqual(8);
    const round = await createRound(db, {
      trigger: "manual",
      parentModelVersionId: parentId,
      objectiveConfig: tiny({ steps: 200 }),
    });
    let canceled = false;
    const ended = await runRound(deps("w-a"), round.id, {
      onProgress: (p) => {
        if (!canceled && p.phase === "training" && (p.step ?? 0) >= 2) {
          canceled = true;
          void updateRoundStatus(db, { roundId: round.id, to: "canceled", error: "canceled by test" });
        }
      },
    });
    expect(ended.status).toBe("canceled");
    expect(Number((ended.progress as { step?: number }).step ?? 0)).toBeLessThan(200);
    expect(ended.candidateModelVersionId).toBeNull();
    expect(await poolIds()).toEqual(pool);
    await expect(getModelVersion(db, `round-${round.id}`)).rejects.toThrow(/not found/);
  });

  test("two workers never run two rounds at once", async () => {
    const [a, b] = await Promise.all(
      [0, 1].map(() =>
        createRound(db, { trigger: "manual", parentModelVersionId: parentId, objectiveConfig: tiny() }),
      ),
    );
    if (!a || !b) throw new Error("unreachable");
    const [ra, rb] = await Promise.all([runRound(deps("w-1"), a.id), runRound(deps("w-2"), b.id)]);
    const statuses = [ra.status, rb.status].sort();
    // One ran to the end; the other was not started (still queued) while the first held the lease.
    expect(statuses).toEqual(["published", "queued"]);
    const waiting = ra.status === "queued" ? a : b;
    expect((await getRound(db, waiting.id)).startedAt).toBeNull();
    // Once the first has finished, the waiting one runs and claims nothing twice.
    const later = await runRound(deps("w-2"), waiting.id);
    expect(["failed", "published"]).toContain(later.status);
  });

  test("SIGKILL mid-training: a restarted worker resumes from the checkpoint and finishes; no label lost or used twice", async () => {
    await quiesce();
    await addImages(4);
    await vote(12, 4, 2);
    const pool = await poolIds();
    const round = await createRound(db, {
      trigger: "manual",
      parentModelVersionId: parentId,
      objectiveConfig: tiny({ steps: 40, checkpointEvery: 3 }),
    });
    const child = spawn(
      process.execPath,
      ["--import", "tsx", resolve(import.meta.dirname, "../cli.ts"), "round", "run", "--round", round.id],
      {
        env: { ...process.env, DATABASE_URL: url, LIKEWISE_HOME: home, LOG_LEVEL: "error" },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) =>
      child.on("exit", (code, signal) => r(signal ? -1 : code)),
    );
    const ckpt = join(roundDir(home, round.id), "checkpoint.bin");
    const deadline = Date.now() + 240_000;
    let step = 0;
    while (Date.now() < deadline) {
      const r = await getRound(db, round.id);
      step = Number((r.progress as { step?: number }).step ?? 0);
      if (r.status === "training" && step >= 7 && existsSync(ckpt)) break;
      if (r.finishedAt) throw new Error(`round ended early: ${r.status} ${r.error ?? ""}\n${stderr}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(step, stderr).toBeGreaterThanOrEqual(7);
    child.kill("SIGKILL");
    expect(await exited).toBe(-1);
    const killed = await getRound(db, round.id);
    expect(killed.status).toBe("training");
    expect(await claimedBy(round.id)).toEqual(pool);
    // The dead worker's heartbeat is fresh: a new worker may not take the round yet…
    const tooSoon = await runRound(deps("w-restart"), round.id);
    expect(tooSoon.status).toBe("training");
    // …once it is stale, it does, and resumes from the last checkpoint rather than step 0.
    await new Promise((res) => setTimeout(res, 1500));
    const ended = await runRound({ ...deps("w-restart"), staleMs: 1000 }, round.id);
    expect(ended.status, ended.error ?? "").toBe("published");
    const resumedFrom = (ended.metrics.training as { resumedFromStep: number | null }).resumedFromStep;
    // Checkpoints every 3 steps: it resumed at the last one written before the kill, not at 0 and not at the end.
    expect(resumedFrom).toBeGreaterThanOrEqual(6);
    expect(resumedFrom).toBeLessThan(40);
    expect((resumedFrom ?? 1) % 3).toBe(0);
    expect(await labelIdsOf(round.id)).toEqual(pool);
    expect(await claimedBy(round.id)).toEqual(pool);
    const everyClaim = await handle.sql<
      { n: number }[]
    >`select count(*)::int as n from round_label rl join alignment_round r on r.id = rl.round_id where rl.event_id = any(${pool}::bigint[]) and r.status = 'published'`;
    expect(everyClaim[0]?.n).toBe(pool.length);
  });
});
