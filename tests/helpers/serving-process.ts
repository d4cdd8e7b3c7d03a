// A serving process for hot-swap tests and the hot-swap benchmark: a ServingHost that follows the registry
// (LISTEN/NOTIFY + periodic reconcile, heartbeats in serving_host) and `clients` loops that request generations
// continuously. Reports JSON lines on stdout: routed/refused events (with the wall-clock time), one line per
// response (the version that produced it and a hash of the first image) or failure, and final stats on SIGTERM.
//   node --import tsx tests/helpers/serving-process.ts '<json config>'
import { createHash } from "node:crypto";

import {
  createDb,
  getModelVersion,
  modelRegistryFeed,
  removeServingHost,
  reportServingHost,
} from "@likewise/db";
import { LocalArtifactStore, type SampleRequest, ServingHost } from "@likewise/serving";

export type ServingProcessConfig = {
  databaseUrl: string;
  home: string;
  hostId: string;
  clients: number;
  request: SampleRequest;
  reconcileIntervalMs: number;
  /** Print every response (tests) or only counts (benchmark). */
  logResponses: boolean;
  threads: number;
};

export type ServingProcessLine =
  | { type: "routed"; hostId: string; version: string; from: string | null; at: number }
  | { type: "refused"; hostId: string; version: string; code: string; message: string; at: number }
  | { type: "response"; hostId: string; version: string; hash: string; ms: number }
  | { type: "failure"; hostId: string; message: string; at: number }
  | {
      type: "stats";
      hostId: string;
      ok: number;
      failed: number;
      byVersion: Record<string, number>;
      rssMb: number;
    };

const config = JSON.parse(process.argv[2] ?? "{}") as ServingProcessConfig;
const say = (line: ServingProcessLine) => process.stdout.write(JSON.stringify(line) + "\n");

const handle = createDb(config.databaseUrl, { max: 3, applicationName: config.hostId });
const store = LocalArtifactStore.atHome(config.home);
const host = new ServingHost({
  resolveArtifact: async (id) => store.open((await getModelVersion(handle.db, id)).artifactUri),
  hostOptions: { intraOpNumThreads: config.threads, allowSpinning: false },
  onEvent: (e) => {
    if (e.kind === "routed")
      say({ type: "routed", hostId: config.hostId, version: e.versionId, from: e.from, at: Date.now() });
    if (e.kind === "refused")
      say({
        type: "refused",
        hostId: config.hostId,
        version: e.versionId,
        code: e.code,
        message: e.message,
        at: Date.now(),
      });
  },
});
const detach = await host.attach(modelRegistryFeed(handle), {
  reconcileIntervalMs: config.reconcileIntervalMs,
  report: async (status) => {
    await reportServingHost(handle.db, {
      id: config.hostId,
      kind: "test",
      hostname: "localhost",
      pid: process.pid,
      productionVersionId: status.production,
      isConverged: status.isConverged,
      status,
    });
  },
});

let isRunning = true;
let ok = 0;
let failed = 0;
const byVersion: Record<string, number> = {};
const loops = Array.from({ length: config.clients }, async () => {
  while (isRunning) {
    const t0 = performance.now();
    try {
      const { versionId, result } = await host.generate(config.request);
      ok++;
      byVersion[versionId] = (byVersion[versionId] ?? 0) + 1;
      if (config.logResponses) {
        const hash = createHash("sha256")
          .update(result.images[0]?.data ?? new Uint8Array())
          .digest("hex");
        say({
          type: "response",
          hostId: config.hostId,
          version: versionId,
          hash,
          ms: performance.now() - t0,
        });
      }
    } catch (e) {
      failed++;
      say({
        type: "failure",
        hostId: config.hostId,
        message: e instanceof Error ? e.message : String(e),
        at: Date.now(),
      });
    }
    await new Promise((r) => setImmediate(r));
  }
});

process.on("SIGTERM", () => {
  isRunning = false;
  void (async () => {
    await Promise.all(loops);
    say({
      type: "stats",
      hostId: config.hostId,
      ok,
      failed,
      byVersion,
      rssMb: process.memoryUsage().rss / 2 ** 20,
    });
    await detach();
    await host.close();
    await removeServingHost(handle.db, config.hostId).catch(() => {});
    await handle.close();
    process.exit(0);
  })();
});
