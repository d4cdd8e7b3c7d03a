// `pnpm bench experiments [--database-url <empty postgres db> …]`: the experiments' numbers for BENCHMARKS.md.
//
// 1. Always: the sequential test's mixing variance τ² compared on simulated experiments (fixed seeds; the arms of
//    apps/web/src/server/experiments/statistics.test.ts: clustered users, 1–20 votes each, 20 daily looks): the
//    false-positive rate over 1,000 A/A experiments and the share of +5-point experiments (45% → 50%) detected, for
//    τ² tuned to a planned sample (the former default) and τ = expected lift × control (the default now).
// 2. With --database-url: the scripted end-to-end demo. A real alignment round on the shipped base model (pool as the
//    pool job makes it, simulated votes, the default round config), then an installation (`next start` of the e2e
//    build + a trainer worker) where the admin starts "aligned vs base" in Chromium, `pnpm likewise simulate --url`
//    batches vote through the public API until the decision rule recommends a winner (or --max-votes), the admin
//    promotes it, and a new rater's public feed is checked against the new production. Screenshots go to
//    docs/screenshots/experiment-demo-*.png, figures to bench/results/experiments.json.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { chromium } from "playwright-core";

import {
  createApiKey,
  createDb,
  createExperiment,
  createRound,
  createUser,
  type Db,
  findProductionModelVersion,
  getExperiment,
  getExperimentMetrics,
  getModelVersion,
  getRound,
  hashPassword,
  listRunningExperiments,
  listActivePrompts,
  recordImage,
  type Round,
  runMigrations,
  stopExperiment,
} from "@likewise/db";
import { encodePng, LocalArtifactStore, LocalBlobStore, loadModel, sampleImages } from "@likewise/serving";
import { getRaterPreset } from "@likewise/synth";

import { createLogger } from "../apps/trainer/src/log.ts";
import { runRound } from "../apps/trainer/src/rounds/runner.ts";
import { simulateVotes } from "../apps/trainer/src/simulate.ts";
import { analyzeExperiment } from "../apps/web/src/server/experiments/analysis.ts";
import {
  compareAggregates,
  type CompareOptions,
  type RatioAggregate,
} from "../apps/web/src/server/experiments/statistics.ts";
import { BASE_MODEL_ID, seedInstallation } from "../scripts/seed.ts";
import { freePort } from "../tests/helpers/net.ts";
import { writeResult } from "./lib/results.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const WEB = join(ROOT, "apps", "web");

// ---------------------------------------------------------------- 1. τ² on simulated experiments

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function simulateArm(rand: () => number, users: number, meanLike: number): RatioAggregate {
  const a = { users, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
  for (let u = 0; u < users; u++) {
    const p = Math.min(1, Math.max(0, meanLike + (rand() < 0.5 ? -0.3 : 0.3)));
    const votes = 1 + Math.floor(rand() * 20);
    let likes = 0;
    for (let v = 0; v < votes; v++) if (rand() < p) likes++;
    a.sumX += likes;
    a.sumY += votes;
    a.sumX2 += likes * likes;
    a.sumY2 += votes * votes;
    a.sumXY += likes * votes;
  }
  return a;
}
const add = (a: RatioAggregate, b: RatioAggregate): RatioAggregate => ({
  users: a.users + b.users,
  sumX: a.sumX + b.sumX,
  sumY: a.sumY + b.sumY,
  sumX2: a.sumX2 + b.sumX2,
  sumY2: a.sumY2 + b.sumY2,
  sumXY: a.sumXY + b.sumXY,
});
const EMPTY: RatioAggregate = { users: 0, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };

/** Share of `sims` experiments (20 daily looks) in which the sequential test ever says p < 0.05, and the mean day. */
function peeking(o: CompareOptions, seed: number, sims: number, perDay: number, lift: number) {
  const rand = rng(seed);
  let hits = 0;
  let days = 0;
  let fixedHits = 0;
  for (let s = 0; s < sims; s++) {
    let a = EMPTY;
    let b = EMPTY;
    let fixedHit = false;
    for (let day = 0; day < 20; day++) {
      a = add(a, simulateArm(rand, perDay, 0.45));
      b = add(b, simulateArm(rand, perDay, 0.45 + lift));
      const c = compareAggregates(a, b, o);
      if (c.fixedHorizon.pValue < 0.05) fixedHit = true;
      if (c.sequential.pValue < 0.05) {
        hits++;
        days += day + 1;
        break;
      }
    }
    if (fixedHit) fixedHits++;
  }
  return { rate: hits / sims, meanDay: hits ? days / hits : null, fixedHorizonEverRate: fixedHits / sims };
}

function tauComparison() {
  const rules: [string, CompareOptions][] = [
    ["τ² tightest at 800 users/arm", { plannedUsersPerArm: 800 }],
    ["τ² tightest at 4,000 users/arm", { plannedUsersPerArm: 4000 }],
    ["τ = 10% × control (default)", { expectedRelativeEffect: 0.1, plannedUsersPerArm: 100 }],
    ["τ = 20% × control", { expectedRelativeEffect: 0.2, plannedUsersPerArm: 100 }],
  ];
  return rules.map(([rule, o]) => {
    const aa = peeking(o, 2026, 1000, 40, 0);
    const big = peeking(o, 55, 200, 200, 0.05);
    const small = peeking(o, 56, 200, 40, 0.05);
    const row = {
      rule,
      aaFalsePositiveRate: aa.rate,
      aaFixedHorizonEverRate: aa.fixedHorizonEverRate,
      power200PerDay: big.rate,
      meanDetectionDay200: big.meanDay,
      power40PerDay: small.rate,
      meanDetectionDay40: small.meanDay,
    };
    console.error(JSON.stringify(row));
    return row;
  });
}

// ---------------------------------------------------------------- 2. the scripted demo

function waitExit(child: ChildProcess): Promise<number | null> {
  return new Promise((res) => child.once("exit", (code) => res(code)));
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const done = waitExit(child);
  child.kill("SIGTERM");
  await done;
  clearTimeout(killer);
}

async function pool(
  db: Db,
  home: string,
  modelVersionId: string,
  perPrompt: number,
  seed0: number,
): Promise<number> {
  const store = LocalArtifactStore.atHome(home);
  const blobs = LocalBlobStore.atHome(home);
  const model = await loadModel(await store.open((await getModelVersion(db, modelVersionId)).artifactUri), {
    intraOpNumThreads: 2,
  });
  const prompts = await listActivePrompts(db, { source: "curated" });
  let n = 0;
  try {
    for (const [k, p] of prompts.entries()) {
      const seeds = Array.from({ length: perPrompt }, (_v, i) => seed0 + k * 1000 + i);
      const out = await sampleImages(model, {
        prompts: seeds.map(() => p.text),
        seeds,
        steps: 25,
        guidanceScale: 3,
      });
      for (const [i, img] of out.images.entries()) {
        await recordImage(db, {
          promptId: p.id,
          modelVersionId,
          seed: seeds[i] ?? 0,
          sampler: "ddim",
          steps: 25,
          guidance: 3,
          eta: 0,
          blobKey: await blobs.put(encodePng(img)),
          width: img.width,
          height: img.height,
        });
        n++;
      }
    }
  } finally {
    await model.host.release();
  }
  return n;
}

async function demo(values: Record<string, string | undefined>) {
  const url = values["database-url"] ?? "";
  const home = values.home ?? mkdtempSync(join(tmpdir(), "likewise-bench-experiments-"));
  if (!existsSync(join(WEB, ".next-e2e", "BUILD_ID")))
    throw new Error(
      "no e2e build: run the e2e tests once (they build apps/web/.next-e2e), or `LIKEWISE_NEXT_DIST_DIR=.next-e2e next build`",
    );
  const t0 = performance.now();
  const s = () => Math.round((performance.now() - t0) / 100) / 10;
  const log = (m: string) => console.error(`[${s()} s] ${m}`);
  await runMigrations(url);
  const handle = createDb(url, { max: 4 });
  const { db } = handle;
  const blobs = LocalBlobStore.atHome(home);
  const store = LocalArtifactStore.atHome(home);
  const rater = getRaterPreset(values.raters ?? "default");
  const admin = { email: "demo-admin@example.test", password: "demo-admin-password" };
  let ended: Round;
  if (values.round) {
    // Resume on an installation a previous run prepared (its round, pools and admin); its experiments are stopped.
    ended = await getRound(db, values.round);
    for (const e of await listRunningExperiments(db))
      await stopExperiment(db, { experimentId: e.id, reason: "bench re-run" });
  } else {
    await seedInstallation(db, { home, log: () => {} });
    const perPrompt = Number(values["images-per-prompt"] ?? 24);
    log(`base pool: ${await pool(db, home, BASE_MODEL_ID, perPrompt, 100_000)} images`);
    // The aligned version: one real round on simulated votes of the base model's pool.
    const sim = await simulateVotes(
      { db, blobs },
      { rater, votes: Number(values["train-votes"] ?? 2000), users: 25, seed: 1 },
    );
    log(`training votes: ${sim.votes} (${sim.likes} likes)`);
    const round = await createRound(db, {
      trigger: "manual",
      objectiveConfig: { classBalance: [0.01, 0.99], steps: Number(values.steps ?? 200) },
    });
    ended = await runRound(
      {
        db,
        blobs,
        store,
        home,
        log: createLogger({ bench: "experiments" }, "warn"),
        workerId: "bench",
        servingThreads: 2,
      },
      round.id,
    );
    if (ended.status !== "published" || !ended.candidateModelVersionId)
      throw new Error(`round ${ended.status}: ${ended.error ?? ""}`);
    log(`aligned pool: ${await pool(db, home, ended.candidateModelVersionId, perPrompt, 500_000)} images`);
    await createUser(db, {
      email: admin.email,
      role: "admin",
      passwordHash: await hashPassword(admin.password),
      trainingConsent: false,
    });
  }
  const aligned = ended.candidateModelVersionId ?? "";
  const gate = ended.metrics.gate as { parent: { likeRate: number }; candidate: { likeRate: number } };
  log(
    `round ${ended.id} published ${aligned}: gate like rate ${gate.parent.likeRate.toFixed(4)} → ${gate.candidate.likeRate.toFixed(4)}`,
  );
  // The analyst's expected lift: what the round's gate measured (relative), the scale the sequential test is tuned to.
  const expectedLift = Math.max(0.05, gate.candidate.likeRate / Math.max(1e-6, gate.parent.likeRate) - 1);
  const exp = await createExperiment(db, {
    name: `aligned vs base (demo ${new Date().toISOString().slice(11, 16)})`,
    hypothesis: `the round's version ${aligned} is liked more than base (gate: ${(100 * gate.parent.likeRate).toFixed(1)}% → ${(100 * gate.candidate.likeRate).toFixed(1)}%)`,
    minSamplePerVariant: 20,
    guardrails: ["generation_error_rate", "generation_latency_ms", "participation"],
    decisionRule: {
      method: "sequential",
      alpha: 0.05,
      chanceToBeat: 0.95,
      expectedLift,
      autoStopOnGuardrail: true,
    },
    variants: [
      { name: "base", modelVersionId: BASE_MODEL_ID, weight: 1, isControl: true },
      { name: "aligned", modelVersionId: aligned, weight: 1 },
    ],
  });

  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    LIKEWISE_NEXT_DIST_DIR: ".next-e2e",
    DATABASE_URL: url,
    LIKEWISE_HOME: home,
    LIKEWISE_RATE_LIMIT_SCALE: "20",
    NEXTAUTH_URL: baseUrl,
    NEXTAUTH_SECRET: "bench-experiments-secret-0123456789abcdef",
  };
  const web = spawn(
    join(WEB, "node_modules", ".bin", "next"),
    ["start", "-p", String(port), "-H", "127.0.0.1"],
    { cwd: WEB, env, stdio: ["ignore", "ignore", "inherit"] },
  );
  const trainer = spawn(
    join(ROOT, "node_modules", ".bin", "tsx"),
    [join(ROOT, "apps", "trainer", "src", "main.ts")],
    {
      cwd: ROOT,
      env: { ...env, POOL_TARGET: "0", LOG_LEVEL: "warn", TRAINER_WORKER_ID: "bench-trainer" },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const shots = join(ROOT, "docs", "screenshots");
  mkdirSync(shots, { recursive: true });
  try {
    for (
      const until = Date.now() + 60_000;
      !(await fetch(`${baseUrl}/api/health`).then(
        (r) => r.ok,
        () => false,
      ));
    ) {
      if (Date.now() > until) throw new Error("next start not ready");
      await new Promise((r) => setTimeout(r, 300));
    }
    for (
      const until = Date.now() + 120_000;
      (await handle.sql`select 1 from serving_host where id = 'bench-trainer'`).length === 0;
    ) {
      if (Date.now() > until) throw new Error("trainer host not up");
      await new Promise((r) => setTimeout(r, 500));
    }
    const page = await (
      await browser.newContext({ baseURL: baseUrl, viewport: { width: 1280, height: 900 } })
    ).newPage();
    await page.goto("/signin?callbackUrl=/admin/experiments");
    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password").fill(admin.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${baseUrl}/admin/experiments`);
    await page.goto(`/admin/experiments/${exp.id}`);
    const startClicked = performance.now();
    await page.getByRole("button", { name: "Start" }).click();
    while ((await getExperiment(db, exp.id)).status !== "running")
      await new Promise((r) => setTimeout(r, 200));
    const startMs = Math.round(performance.now() - startClicked);
    log(`experiment running after ${startMs} ms (hosts loaded the aligned version)`);

    const looks: Record<string, unknown>[] = [];
    const maxVotes = Number(values["max-votes"] ?? 4000);
    const batch = Number(values.batch ?? 400);
    // Votes per simulated user (users are the unit: fewer votes each means more users per vote cast).
    const votesPerUser = Number(values["votes-per-user"] ?? 40);
    let cast = 0;
    let seed = 100;
    let recommendation = "";
    const votingStarted = performance.now();
    while (cast < maxVotes) {
      // Two simulator processes at once (new users each batch: the same seed would reuse users who have rated).
      const runs = [0, 1].map(() => {
        const child = spawn(
          join(ROOT, "node_modules", ".bin", "tsx"),
          [
            join(ROOT, "apps", "trainer", "src", "cli.ts"),
            "simulate",
            "--url",
            baseUrl,
            "--votes",
            String(batch / 2),
            "--users",
            String(Math.ceil(batch / 2 / votesPerUser)),
            "--seed",
            String(seed++),
            "--raters",
            rater.name,
          ],
          { cwd: ROOT, env: { ...env, LOG_LEVEL: "warn" }, stdio: ["ignore", "ignore", "inherit"] },
        );
        return waitExit(child);
      });
      const codes = await Promise.all(runs);
      if (codes.some((c) => c !== 0)) throw new Error(`simulate exited with ${codes.join(", ")}`);
      cast += batch;
      const current = await getExperiment(db, exp.id);
      const a = analyzeExperiment(current, await getExperimentMetrics(db, { experimentId: exp.id }));
      const t = a.variants.find((v) => v.name === "aligned");
      const c = a.variants.find((v) => v.name === "base");
      const cmp = t?.comparisons.like_rate_per_vote;
      const look = {
        votes: cast,
        seconds: Math.round((performance.now() - votingStarted) / 1000),
        users: { base: c?.counts.users, aligned: t?.counts.users },
        likeRate: { base: c?.metrics.like_rate_per_vote.value, aligned: t?.metrics.like_rate_per_vote.value },
        difference: cmp?.difference,
        sequentialP: cmp?.sequential.pValue,
        fixedP: cmp?.fixedHorizon.pValue,
        chanceToBeat: cmp?.bayesian.chanceToBeatControl,
        srmP: a.srm.pValue,
        recommendation: a.recommendation.kind,
        status: current.status,
      };
      looks.push(look);
      log(JSON.stringify(look));
      recommendation = a.recommendation.kind;
      if (recommendation === "promote" || current.status !== "running") break;
    }
    await page.reload();
    await page.getByTestId("variant-table").waitFor();
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(shots, "experiment-demo-running.png"), fullPage: true });
    let promoted = false;
    if (recommendation === "promote") {
      await page
        .getByLabel("Reason (recorded with the decision)")
        .fill("aligned wins on like rate per vote (sequential test)");
      await page.getByRole("button", { name: "Promote aligned" }).click();
      while ((await getExperiment(db, exp.id)).status !== "decided")
        await new Promise((r) => setTimeout(r, 200));
      promoted = (await findProductionModelVersion(db))?.id === aligned;
      await page.reload();
      await page.getByTestId("variant-table").waitFor();
      await page.waitForTimeout(1500);
      await page.screenshot({ path: join(shots, "experiment-demo-promoted.png"), fullPage: true });
    }
    // A new rater after the decision: the public feed serves production.
    const rater2 = await createUser(db, {
      email: `after-${randomUUID().slice(0, 8)}@example.test`,
      trainingConsent: true,
    });
    const key = `lw_${randomBytes(32).toString("base64url")}`;
    await createApiKey(db, {
      name: "after",
      prefix: key.slice(0, 10),
      keyHash: createHash("sha256").update(key).digest("hex"),
      userId: rater2.id,
    });
    const feed = (await (
      await fetch(`${baseUrl}/api/v1/feed?limit=12`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { images: { modelVersionId: string }[] };
    const feedVersions = [...new Set(feed.images.map((i) => i.modelVersionId))];
    log(`after the decision a new rater's feed is served by ${feedVersions.join(", ")}`);
    const result = {
      round: {
        id: ended.id,
        candidate: aligned,
        gate: { parentLikeRate: gate.parent.likeRate, candidateLikeRate: gate.candidate.likeRate },
        labels: { desirable: ended.labelCountDesirable, undesirable: ended.labelCountUndesirable },
      },
      experiment: {
        id: exp.id,
        expectedLift,
        votesPerUser,
        startMs,
        looks,
        recommendation,
        promoted,
        feedVersionsAfter: feedVersions,
      },
      totalSeconds: s(),
    };
    return result;
  } finally {
    await browser.close();
    await stop(trainer);
    await stop(web);
    await handle.close();
  }
}

export default async function main(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      "database-url": { type: "string" },
      home: { type: "string" },
      raters: { type: "string" },
      "images-per-prompt": { type: "string" },
      "train-votes": { type: "string" },
      steps: { type: "string" },
      round: { type: "string" },
      "votes-per-user": { type: "string" },
      "max-votes": { type: "string" },
      batch: { type: "string" },
      "skip-tau": { type: "boolean" },
    },
  });
  const { "skip-tau": skipTau, ...opts } = values;
  const tau = skipTau ? null : tauComparison();
  const demoResult = opts["database-url"] ? await demo(opts) : null;
  const path = writeResult("experiments", { tau, demo: demoResult });
  console.log(JSON.stringify({ tau, demo: demoResult }, null, 2));
  console.error(`wrote ${path}`);
}
