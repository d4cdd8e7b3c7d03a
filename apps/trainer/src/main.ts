// Composition root of the trainer worker: env → database (given or embedded) → migrations → model host following the
// registry → job queue (on-demand generations + pool refills) → pool planner. SIGINT/SIGTERM stop the queue (letting
// the running job finish), detach and drain the model host, close the pool and stop an embedded server we started.
import { hostname } from "node:os";

import {
  createDb,
  type DbHandle,
  modelRegistryFeed,
  removeServingHost,
  reportServingHost,
  runMigrations,
} from "@likewise/db";
import { resolveDatabase, type ResolvedDatabase } from "@likewise/db/embedded";
import { type JobQueue, openJobQueue } from "@likewise/db/queue";
import { LocalArtifactStore, LocalBlobStore, ServingHost } from "@likewise/serving";

import { env } from "./env.ts";
import {
  type GenerationDeps,
  planPool,
  resendStaleRequests,
  runGenerationJob,
  runPoolJob,
} from "./generation.ts";
import { createLogger } from "./log.ts";
import { artifactResolver } from "./registry.ts";
import { RoundScheduler } from "./rounds/jobs.ts";

const log = createLogger({ svc: "trainer", worker: env.workerId }, env.logLevel);

let database: ResolvedDatabase | undefined;
let handle: DbHandle | undefined;
let queue: JobQueue | undefined;
let host: ServingHost | undefined;
let detach: (() => Promise<void>) | undefined;
let rounds: RoundScheduler | undefined;
const timers: NodeJS.Timeout[] = [];
let stopping = false;

async function shutdown(reason: string, code: number) {
  if (stopping) return;
  stopping = true;
  log.info("stopping", { reason });
  timers.forEach(clearInterval);
  await rounds?.stop().catch(() => {});
  await queue?.stop().catch((e: unknown) => log.warn("job queue did not stop cleanly", { error: String(e) }));
  await detach?.().catch(() => {});
  await host?.close().catch(() => {});
  if (handle) await removeServingHost(handle.db, env.workerId).catch(() => {});
  await handle?.close().catch(() => {});
  await database
    ?.release()
    .catch((e: unknown) => log.error("embedded database did not stop", { error: String(e) }));
  log.info("stopped");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown("SIGINT", 0));
process.on("SIGTERM", () => void shutdown("SIGTERM", 0));

try {
  database = await resolveDatabase({ databaseUrl: env.databaseUrl, home: env.home });
  await runMigrations(database.url);
  handle = createDb(database.url, { max: 4, applicationName: env.workerId });
  const { db } = handle;
  const [server] = await handle.sql<
    { version: string }[]
  >`select current_setting('server_version') as version`;
  log.info("ready", { database: database.kind, postgres: server?.version });
  // Wake-ups from web and other workers arrive over LISTEN/NOTIFY.
  await handle.sql.listen("likewise", (payload) => log.info("notify", { payload }));

  const models = LocalArtifactStore.atHome(env.home);
  const blobs = LocalBlobStore.atHome(env.home);
  const serving = new ServingHost({
    resolveArtifact: artifactResolver(db, models),
    hostOptions: { intraOpNumThreads: env.servingThreads, allowSpinning: false },
    onEvent: (e) =>
      (e.kind === "refused" || e.kind === "reconcile-error" ? log.error : log.info)(`model host: ${e.kind}`, {
        ...e,
      }),
  });
  host = serving;
  detach = await serving.attach(modelRegistryFeed(handle), {
    reconcileIntervalMs: env.modelReconcileIntervalMs,
    report: async (status) => {
      await reportServingHost(db, {
        id: env.workerId,
        kind: "trainer",
        hostname: hostname(),
        pid: process.pid,
        productionVersionId: status.production,
        isConverged: status.isConverged,
        status,
      });
    },
  });

  const jobs = await openJobQueue(database.url, {
    role: "worker",
    applicationName: `${env.workerId}-queue`,
    onError: (e) => log.warn("job queue error", { error: e.message }),
  });
  queue = jobs;
  const deps: GenerationDeps = { db, queue: jobs, host: serving, blobs, log, workerId: env.workerId };
  await jobs.work("generation", { pollingIntervalSeconds: 0.5 }, (payload, job) =>
    runGenerationJob(deps, payload.requestId, job),
  );
  await jobs.work("pool", { pollingIntervalSeconds: 2 }, (payload) => runPoolJob(deps, payload));

  const plan = async () => {
    try {
      if (env.poolTarget > 0) {
        const sent = await planPool(deps, env.poolTarget);
        if (sent > 0) log.info("pool refills queued", { jobs: sent });
      }
      const resent = await resendStaleRequests(deps, 60_000);
      if (resent > 0) log.warn("re-sent stale generation jobs", { requests: resent });
    } catch (e) {
      log.warn("pool planning failed", { error: e instanceof Error ? e.message : String(e) });
    }
  };
  await plan();
  timers.push(setInterval(() => void plan(), env.poolPlanIntervalMs));

  // Alignment rounds: queue jobs ("run now", schedules), the stale-round sweep, cron and data-triggered schedules.
  const scheduler = new RoundScheduler({
    db,
    blobs,
    store: models,
    home: env.home,
    log,
    workerId: env.workerId,
    queue: jobs,
    staleMs: env.roundStaleMs,
    servingThreads: env.servingThreads,
  });
  rounds = scheduler;
  await jobs.work("round", { pollingIntervalSeconds: 2 }, async (payload) => {
    await scheduler.run(payload.roundId);
  });
  const sweep = async () => {
    try {
      await scheduler.sweep();
    } catch (e) {
      log.warn("round sweep failed", { error: e instanceof Error ? e.message : String(e) });
    }
  };
  await sweep();
  timers.push(setInterval(() => void sweep(), env.roundSweepIntervalMs));
  log.info("worker running", { production: serving.production, poolTarget: env.poolTarget });
} catch (e) {
  log.error("failed to start", { error: e instanceof Error ? e.message : String(e) });
  await shutdown("startup failure", 1);
}
