// `pnpm bench round --database-url <empty postgres db> [--votes 2000] [--raters default] [--config file.json]`:
// one real alignment round on the committed base model (models/base). Seeds the installation (base = production,
// curated prompts), fills the feed the way the pool job does (DDIM 25 steps, guidance 3, the curated prompts),
// casts `votes` simulated votes (rater preset judging the actual images), runs a round with the default round config
// (or --config), and records times per phase and the gate's like rates (parent vs candidate, same preset, same
// held-out prompts and noise) in bench/results/round.json.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

import {
  createDb,
  createRound,
  getProductionModelVersion,
  listActivePrompts,
  recordImage,
  runMigrations,
} from "@likewise/db";
import { encodePng, LocalArtifactStore, LocalBlobStore, loadModel, sampleImages } from "@likewise/serving";
import { getRaterPreset } from "@likewise/synth";

import { createLogger } from "../apps/trainer/src/log.ts";
import { parseRoundConfig } from "../apps/trainer/src/rounds/config.ts";
import { runRound } from "../apps/trainer/src/rounds/runner.ts";
import { simulateVotes } from "../apps/trainer/src/simulate.ts";
import { seedInstallation } from "../scripts/seed.ts";
import { machineInfo, writeResult } from "./lib/results.ts";

export default async function main(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      "database-url": { type: "string" },
      votes: { type: "string", default: "2000" },
      raters: { type: "string", default: "default" },
      "images-per-prompt": { type: "string", default: "24" },
      config: { type: "string" },
      home: { type: "string" },
    },
  });
  const url = values["database-url"];
  if (!url) throw new Error("--database-url <empty postgres database> is required");
  const votes = Number(values.votes);
  const perPrompt = Number(values["images-per-prompt"]);
  const home = values.home ?? mkdtempSync(join(tmpdir(), "likewise-bench-round-"));
  const config = values.config
    ? (JSON.parse(readFileSync(values.config, "utf8")) as Record<string, unknown>)
    : {};
  parseRoundConfig(config);
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  const times: Record<string, number> = {};

  await runMigrations(url);
  const handle = createDb(url, { max: 4 });
  const { db } = handle;
  const blobs = LocalBlobStore.atHome(home);
  const store = LocalArtifactStore.atHome(home);
  await seedInstallation(db, { home, log: (m) => console.error(m) });
  const production = await getProductionModelVersion(db);
  times.seedMs = ms();

  // The feed: what the trainer's pool job makes (same sampler settings), perPrompt images per curated prompt.
  const model = await loadModel(await store.open(production.artifactUri), { intraOpNumThreads: 2 });
  const prompts = await listActivePrompts(db, { source: "curated" });
  for (const p of prompts) {
    const seeds = Array.from({ length: perPrompt }, (_v, i) => 100_000 + prompts.indexOf(p) * 1000 + i);
    const out = await sampleImages(model, {
      prompts: seeds.map(() => p.text),
      seeds,
      steps: 25,
      guidanceScale: 3,
    });
    for (const [i, img] of out.images.entries()) {
      await recordImage(db, {
        promptId: p.id,
        modelVersionId: production.id,
        seed: seeds[i] ?? 0,
        sampler: "ddim",
        steps: 25,
        guidance: 3,
        eta: 0,
        blobKey: await blobs.put(encodePng(img)),
        width: img.width,
        height: img.height,
      });
    }
  }
  await model.host.release();
  times.poolMs = ms() - times.seedMs;
  console.error(`pool: ${prompts.length * perPrompt} images in ${times.poolMs} ms`);

  const rater = getRaterPreset(values.raters);
  const users = Math.ceil(votes / Math.min(prompts.length * perPrompt, 80));
  const sim = await simulateVotes({ db, blobs }, { rater, votes, users, seed: 1 });
  times.simulateMs = ms() - times.seedMs - times.poolMs;
  console.error(`simulated ${sim.votes} votes by ${sim.users} users: ${sim.likes} likes`);

  const round = await createRound(db, { trigger: "manual", objectiveConfig: config });
  const phaseAt: Record<string, number> = {};
  const started = performance.now();
  const ended = await runRound(
    {
      db,
      blobs,
      store,
      home,
      log: createLogger({ bench: "round" }, "info"),
      workerId: "bench",
      servingThreads: 2,
    },
    round.id,
    {
      onProgress: (p) => {
        if (!(p.phase in phaseAt)) {
          phaseAt[p.phase] = Math.round(performance.now() - started);
          console.error(`${phaseAt[p.phase]} ms → ${p.phase}`);
        }
      },
    },
  );
  const roundMs = Math.round(performance.now() - started);
  const order = ["draining", "training", "exporting", "evaluating", ended.status];
  const phases: Record<string, number> = {};
  for (let i = 0; i < order.length - 1; i++) {
    const a = order[i];
    const b = order[i + 1];
    if (a && b && phaseAt[a] !== undefined && phaseAt[b] !== undefined) phases[a] = phaseAt[b] - phaseAt[a];
  }
  const gate = ended.metrics.gate as
    | {
        parent: { likeRate: number; fidelity: number };
        candidate: { likeRate: number; fidelity: number };
        passed: boolean;
        reasons: string[];
      }
    | undefined;
  const result = {
    machine: machineInfo(),
    votes: sim.votes,
    likesInVotes: sim.likes,
    raters: values.raters,
    round: {
      id: ended.id,
      status: ended.status,
      error: ended.error,
      labels: { desirable: ended.labelCountDesirable, undesirable: ended.labelCountUndesirable },
      config: parseRoundConfig(config),
    },
    times: { ...times, roundMs, phases },
    training: ended.metrics.training,
    gate,
  };
  const path = writeResult("round", result);
  console.log(
    JSON.stringify(
      {
        status: ended.status,
        phases,
        roundMs,
        gate: gate && { parent: gate.parent, candidate: gate.candidate, passed: gate.passed },
      },
      null,
      2,
    ),
  );
  console.error(`wrote ${path}`);
  await handle.close();
}
