// `pnpm bench hot-swap [--swaps N] [--hosts H] [--clients C] [--memory-swaps M]`: model hot swap with the shipped base
// model on ONNX Runtime.
// 1. H serving processes (tests/helpers/serving-process.ts), each with C clients generating continuously, follow the
//    registry while a new version is published (verified, copied into the artifact store, row inserted) and promoted,
//    then rolled back, N times. Records publish → all hosts serving (p50/p95), promote/rollback → all hosts serving,
//    and requests failed during the swaps (must be 0).
// 2. One in-process ServingHost swaps production to a fresh version M times (new session each time, the old one
//    drained and released, a generation after every swap): RSS around swap M relative to swaps 1–5 (medians of 5
//    readings; target < 1.1×).
// Database: a throwaway one on $TEST_DATABASE_URL / $DATABASE_URL, else an embedded PostgreSQL.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

import { format } from "prettier";

import { createDb, rollbackProduction, runMigrations, setProductionAlias } from "@likewise/db";
import { startEmbeddedPostgres } from "@likewise/db/embedded";
import { LocalArtifactStore, type SampleRequest, ServingHost } from "@likewise/serving";

import { promoteModelVersion, registerModelVersion } from "../apps/trainer/src/registry";
import { freePort } from "../tests/helpers/net";
import { startFleet } from "../tests/helpers/fleet";
import { median, writeResult } from "./lib/results";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const BASE_DIR = join(ROOT, "models", "base");
const BENCHMARKS_MD = join(ROOT, "BENCHMARKS.md");
const SECTION_START = "<!-- bench:hot-swap:start -->";
const SECTION_END = "<!-- bench:hot-swap:end -->";
const REQUEST: SampleRequest = {
  prompts: ["a red circle", "a blue square"],
  seeds: [1, 2],
  steps: 25,
  guidanceScale: 3,
};

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  const v = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  return v;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

async function throwawayDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  let server = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dir: string | undefined;
  if (!server) {
    dir = mkdtempSync(join(tmpdir(), "likewise-bench-pg-"));
    chmodSync(dir, 0o755);
    const pg = await startEmbeddedPostgres({ dir, port: await freePort(), database: "postgres" });
    server = pg.url;
    stopEmbedded = pg.stop;
  }
  const name = `likewise_bench_hot_swap_${randomBytes(4).toString("hex")}`;
  const admin = createDb(server, { max: 1 });
  await admin.sql.unsafe(`create database "${name}"`);
  const u = new URL(server);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      await admin.sql.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.close();
      await stopEmbedded?.();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function swapsUnderLoad(
  url: string,
  home: string,
  opts: { swaps: number; hosts: number; clients: number },
) {
  const handle = createDb(url, { max: 4 });
  const store = LocalArtifactStore.atHome(home);
  const { version: base } = await registerModelVersion(handle.db, store, { sourceDir: BASE_DIR, id: "base" });
  await setProductionAlias(handle.db, { modelVersionId: base.id, kind: "initial" });
  const fleet = startFleet({
    hosts: opts.hosts,
    hostPrefix: "bench",
    databaseUrl: url,
    home,
    clients: opts.clients,
    request: REQUEST,
    reconcileIntervalMs: 5_000,
    logResponses: false,
    threads: 1,
  });
  try {
    await fleet.waitAllRouted(base.id, 0, 120_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const publishMs: number[] = [];
    const promoteMs: number[] = [];
    const rollbackMs: number[] = [];
    for (let i = 1; i <= opts.swaps; i++) {
      const id = `base-copy-${i}`;
      let mark = fleet.lines.length;
      const t0 = Date.now();
      await registerModelVersion(handle.db, store, { sourceDir: BASE_DIR, id });
      const t1 = Date.now();
      await promoteModelVersion(handle.db, { modelVersionId: id, reason: "bench" });
      const routed = Math.max(...(await fleet.waitAllRouted(id, mark, 60_000)));
      publishMs.push(routed - t0);
      promoteMs.push(routed - t1);
      await new Promise((r) => setTimeout(r, 500));
      mark = fleet.lines.length;
      const t2 = Date.now();
      await rollbackProduction(handle.db, { reason: "bench" });
      rollbackMs.push(Math.max(...(await fleet.waitAllRouted(base.id, mark, 60_000))) - t2);
      await new Promise((r) => setTimeout(r, 500));
      process.stdout.write(
        `  swap ${i}/${opts.swaps}: publish→all serving ${publishMs.at(-1)} ms, rollback ${rollbackMs.at(-1)} ms\n`,
      );
    }
    const stats = await fleet.stop();
    const failures = fleet.lines.filter((l) => l.type === "failure");
    return {
      publishMs,
      promoteMs,
      rollbackMs,
      requestsOk: stats.reduce((s, x) => s + x.ok, 0),
      requestsFailed: stats.reduce((s, x) => s + x.failed, 0) + (stats.length < opts.hosts ? 1 : 0),
      failureMessages: failures.slice(0, 5).map((f) => (f.type === "failure" ? f.message : "")),
      hostRssMb: stats.map((s) => Math.round(s.rssMb)),
    };
  } finally {
    await fleet.stop();
    await handle.close();
  }
}

/** A callable gc without --expose-gc on the command line (V8 flag set at run time, read through a new context). */
function exposeGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void; // safe: with --expose-gc set, `gc` is V8's global collector function
}

async function memoryAcrossSwaps(swaps: number) {
  const host = new ServingHost({
    resolveArtifact: () => Promise.resolve(BASE_DIR), // a fresh id each time: a new session from the same files
    hostOptions: { intraOpNumThreads: 1, allowSpinning: false },
  });
  const gc = exposeGc();
  // Swap 0 is the first load (no swap yet); from swap 1 on the host holds production + the warm previous version.
  await host.apply({ production: "mem-0" });
  await host.generate(REQUEST);
  const rssMb: number[] = [];
  for (let i = 1; i <= swaps; i++) {
    await host.apply({ production: `mem-${i}` });
    await host.generate(REQUEST);
    await new Promise((r) => setTimeout(r, 20)); // the unloaded version's release completes
    gc();
    rssMb.push(process.memoryUsage().rss / 2 ** 20);
  }
  const loaded = host.status().versions.filter((v) => v.state === "ready").length;
  await host.close();
  return { rssMb, loaded };
}

async function writeSection(body: string): Promise<void> {
  let md = readFileSync(BENCHMARKS_MD, "utf8");
  const section = (
    await format(`${SECTION_START}\n\n${body.trim()}\n\n${SECTION_END}`, {
      parser: "markdown",
      printWidth: 110,
    })
  ).trim();
  const a = md.indexOf(SECTION_START);
  const b = md.indexOf(SECTION_END);
  md =
    a >= 0 && b > a
      ? md.slice(0, a) + section + md.slice(b + SECTION_END.length)
      : `${md.trimEnd()}\n\n${section}\n`;
  writeFileSync(BENCHMARKS_MD, md);
}

export default async function hotSwap(argv: string[]): Promise<unknown> {
  const swaps = arg(argv, "--swaps", 10);
  const hosts = arg(argv, "--hosts", 3);
  const clients = arg(argv, "--clients", 2);
  const memorySwaps = arg(argv, "--memory-swaps", 50);
  // Extra swaps after the measured ones: shows whether RSS keeps climbing or levels off (allocator reuse).
  const memoryTail = arg(argv, "--memory-tail", 100);
  const load0 = loadavg()[0] ?? 0;

  console.log(`memory: ${memorySwaps} (+${memoryTail}) swaps of one in-process host…`);
  const mem = await memoryAcrossSwaps(memorySwaps + memoryTail);
  // One RSS reading swings by tens of MB with the allocator's and the GC's timing (0.78× and 1.13× at swap 50 in two
  // runs of the same code), so each end of the ratio is the median of 5 consecutive readings.
  const window = (end: number) => median(mem.rssMb.slice(Math.max(0, end - 5), end));
  const rss1 = window(5);
  const rssN = window(memorySwaps);
  const rssEnd = mem.rssMb.at(-1) ?? Number.NaN;
  const rssMax = Math.max(...mem.rssMb);
  const rssRatio = rssN / rss1;
  console.log(
    `  RSS over swaps 1–5 ${rss1.toFixed(0)} MB, over swaps ${memorySwaps - 4}–${memorySwaps}: ${rssN.toFixed(0)} MB (${rssRatio.toFixed(3)}×)`,
  );

  const db = await throwawayDatabase();
  const home = mkdtempSync(join(tmpdir(), "likewise-bench-hot-swap-"));
  chmodSync(home, 0o755);
  let load: Awaited<ReturnType<typeof swapsUnderLoad>>;
  try {
    await runMigrations(db.url);
    console.log(
      `swaps under load: ${hosts} serving processes × ${clients} clients, ${swaps} publish+promote / rollback cycles…`,
    );
    load = await swapsUnderLoad(db.url, home, { swaps, hosts, clients });
  } finally {
    await db.drop();
    rmSync(home, { recursive: true, force: true });
  }
  const load1 = loadavg()[0] ?? 0;

  const summary = {
    publishToAllServingMs: {
      p50: median(load.publishMs),
      p95: quantile(load.publishMs, 0.95),
      max: Math.max(...load.publishMs),
    },
    promoteToAllServingMs: { p50: median(load.promoteMs), p95: quantile(load.promoteMs, 0.95) },
    rollbackToAllServingMs: { p50: median(load.rollbackMs), p95: quantile(load.rollbackMs, 0.95) },
    requestsOk: load.requestsOk,
    requestsFailed: load.requestsFailed,
    rssAfter1Mb: rss1,
    rssAfterNMb: rssN,
    rssRatio,
    rssAfterTailMb: rssEnd,
    rssMaxMb: rssMax,
  };
  console.log(JSON.stringify(summary, null, 2));
  const path = writeResult("hot-swap", {
    config: { swaps, hosts, clients, memorySwaps, memoryTail, request: REQUEST, model: "models/base" },
    loadavg1m: { before: load0, after: load1 },
    cores: cpus().length,
    summary,
    samples: {
      publishMs: load.publishMs,
      promoteMs: load.promoteMs,
      rollbackMs: load.rollbackMs,
      rssMb: mem.rssMb,
    },
    failureMessages: load.failureMessages,
    hostRssMb: load.hostRssMb,
    memory: { loadedAtEnd: mem.loaded },
  });
  const f = (x: number) => x.toFixed(0);
  await writeSection(`
## Hot swap (\`pnpm bench hot-swap\`)

The shipped base model (16 px) on ONNX Runtime, 1 intra-op thread per host. ${hosts} serving processes, each with
${clients} clients generating continuously (2 images × 25 DDIM steps with guidance per request), follow the registry
(LISTEN/NOTIFY + 5 s reconcile) while a new version is published (verified, copied into the artifact store, row
inserted) and promoted, then rolled back, ${swaps} times. Times are from the start of the step to the moment the last
host routes production to the new version. Machine load average ${load0.toFixed(1)} → ${load1.toFixed(1)} on
${cpus().length} shared cores${load0 >= cpus().length ? " (other jobs were using them)" : ""}.

| measure | p50 | p95 |
| --- | --- | --- |
| publish → all hosts serving | ${f(summary.publishToAllServingMs.p50)} ms | ${f(summary.publishToAllServingMs.p95)} ms |
| promote (alias move) → all hosts serving | ${f(summary.promoteToAllServingMs.p50)} ms | ${f(summary.promoteToAllServingMs.p95)} ms |
| rollback → all hosts serving (previous kept warm) | ${f(summary.rollbackToAllServingMs.p50)} ms | ${f(summary.rollbackToAllServingMs.p95)} ms |

Requests during the swaps: **${load.requestsOk} succeeded, ${load.requestsFailed} failed** (target 0).

Memory (one in-process host, production swapped to a fresh version ${memorySwaps} times, a generation after each,
the replaced session drained and released): RSS ${f(rss1)} MB over swaps 1–5, ${f(rssN)} MB over swaps ${memorySwaps - 4}–${memorySwaps} (medians):
**${rssRatio.toFixed(3)}×** (target < 1.1×). Continuing to ${memorySwaps + memoryTail} swaps: ${f(rssEnd)} MB at the end, at
most ${f(rssMax)} MB on the way; ONNX Runtime sessions are released and their memory reused, not leaked, so
versions are not isolated in discardable workers. Results: \`${path.slice(ROOT.length + 1)}\`.
`);
  return summary;
}
