/**
 * A restartable pool of data-parallel gradient workers (worker_threads), one tfjs wasm backend
 * each: the wasm backend is single-threaded in Node, so two workers are how training uses two
 * cores (platform notes: 1.56× at 32 px). A worker that dies — e.g. its wasm module `Aborted()`
 * on heap exhaustion, which leaves the module permanently broken — rejects the pending step with
 * KtoError("WORKER_CRASHED") instead of taking the process down; `restart()` spawns fresh ones.
 * TypeScript workers are loaded through tsx's ESM API, so this works under tsx and vitest alike.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

import { KtoError, type KtoErrorCode } from "../errors";
import { type SampleStats } from "../objective/batch-metrics";
import { type MicroBatch } from "./batch";
import { type ObjectiveOptions } from "./objective";
import { type WorkerInit, type WorkerReply, type WorkerRequest } from "./worker-protocol";

export type WorkerPoolOptions = {
  /** Number of workers (≥ 1). */
  readonly workers: number;
  /** The worker entry (default: ./worker.ts next to this module). A .ts entry is loaded via tsx. */
  readonly workerUrl?: URL;
};

const DEFAULT_WORKER_URL = new URL("./worker.ts", import.meta.url);

/** file URL of tsx's ESM register API (resolved from this package; the require condition gives .cjs). */
function tsxApiUrl(): string {
  const req = createRequire(import.meta.url);
  try {
    return pathToFileURL(req.resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  } catch (e) {
    throw new Error(
      "training workers run train/worker.ts through tsx, which is not resolvable here; pass `workerUrl` (a compiled worker entry) instead",
      { cause: e },
    );
  }
}

function spawn(url: URL): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url);
  // `--import tsx` in execArgv does not apply to a worker's entry module on Node 20; registering
  // tsx's hooks from an eval bootstrap and then importing the entry does.
  const src = `import(${JSON.stringify(tsxApiUrl())}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(src, { eval: true });
}

class WorkerHandle {
  private pending?: { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };
  private deadReason?: string;

  constructor(
    readonly index: number,
    private readonly worker: Worker,
  ) {
    worker.on("message", (m: WorkerReply) => {
      const p = this.pending;
      this.pending = undefined;
      if (!p) return;
      if (m.type === "error") {
        const code = (m.code ?? "WORKER_CRASHED") as KtoErrorCode;
        p.reject(new KtoError(code, `training worker ${index}: ${m.message}`));
      } else {
        p.resolve(m);
      }
    });
    worker.on("error", (e) => this.die(`crashed: ${e.message}`, e));
    worker.on("exit", (code) => this.die(`exited with code ${code}`));
  }

  private die(reason: string, cause?: unknown): void {
    this.deadReason ??= reason;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new KtoError("WORKER_CRASHED", `training worker ${this.index} ${reason}`, { cause }));
  }

  get isDead(): boolean {
    return this.deadReason !== undefined;
  }

  request(msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.deadReason)
      return Promise.reject(
        new KtoError("WORKER_CRASHED", `training worker ${this.index} ${this.deadReason}`),
      );
    if (this.pending) return Promise.reject(new Error(`internal: worker ${this.index} is busy`));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg, transfer);
    });
  }

  post(msg: WorkerRequest): void {
    this.worker.postMessage(msg);
  }

  async terminate(): Promise<void> {
    this.deadReason ??= "terminated";
    await this.worker.terminate();
  }
}

export class GradientWorkerPool {
  private handles: WorkerHandle[] = [];
  private nextId = 1;
  /** Master weights float32 [P], shared with every worker. */
  readonly weights: Float32Array;
  /** Per-shard gradient slots float32 [P] (grown on demand), filled by `compute`. */
  readonly grads: Float32Array[] = [];
  private readonly weightsSab: SharedArrayBuffer;
  private readonly slotSabs: SharedArrayBuffer[] = [];
  /** Backend each worker reported, e.g. "wasm", and its notes. */
  backend = "";
  notes: readonly string[] = [];
  restarts = 0;

  private constructor(
    private readonly init: Omit<WorkerInit, "weights" | "type">,
    private readonly options: WorkerPoolOptions,
  ) {
    this.weightsSab = new SharedArrayBuffer(init.layout.total * 4);
    this.weights = new Float32Array(this.weightsSab);
  }

  /** Spawns `options.workers` workers initialised with `weights` [P]; resolves when all are ready. */
  static async start(
    init: Omit<WorkerInit, "weights" | "type">,
    weights: Float32Array,
    options: WorkerPoolOptions,
  ): Promise<GradientWorkerPool> {
    if (!Number.isInteger(options.workers) || options.workers < 1)
      throw new Error("a worker pool needs at least one worker");
    const pool = new GradientWorkerPool(init, options);
    pool.weights.set(weights);
    await pool.spawnAll();
    return pool;
  }

  get size(): number {
    return this.options.workers;
  }

  private async spawnAll(): Promise<void> {
    this.handles = Array.from(
      { length: this.options.workers },
      (_v, i) => new WorkerHandle(i, spawn(this.options.workerUrl ?? DEFAULT_WORKER_URL)),
    );
    const replies = await Promise.all(
      this.handles.map((h) => h.request({ type: "init", ...this.init, weights: this.weightsSab })),
    ).catch(async (e: unknown) => {
      await this.terminate();
      throw e;
    });
    const first = replies[0];
    if (first?.type === "ready") {
      this.backend = first.backend;
      this.notes = first.notes;
    }
  }

  /**
   * Computes every shard, handing the next shard to whichever worker is free (so a worker slowed
   * by other load on its core takes fewer); shard i's gradient lands in `grads[i]`, so the sum the
   * caller forms in shard order is deterministic whichever worker computed what.
   * `weightsVersion`: bump after each optimizer update so workers reload the master weights.
   * Rejects with KtoError("WORKER_CRASHED") if any worker dies.
   */
  async compute(
    shards: readonly MicroBatch[],
    weightsVersion: number,
    objectiveOptions?: ObjectiveOptions,
  ): Promise<{ loss: number; stats: SampleStats }[]> {
    while (this.slotSabs.length < shards.length) {
      const sab = new SharedArrayBuffer(this.init.layout.total * 4);
      this.slotSabs.push(sab);
      this.grads.push(new Float32Array(sab));
    }
    return this.dispatch(shards, async (h, batch, i) => {
      const r = await h.request(
        {
          type: "compute",
          id: this.nextId++,
          batch,
          slot: this.slotSabs[i] as SharedArrayBuffer,
          weightsVersion,
          ...(objectiveOptions ? { objectiveOptions } : {}),
        },
        batchBuffers(batch),
      );
      if (r.type !== "result") throw new Error(`internal: worker replied ${r.type} to compute`);
      return { loss: r.loss, stats: r.stats };
    });
  }

  /** Forward only: every shard's per-sample errors, in shard order (the shards' buffers are transferred). */
  async sampleStats(shards: readonly MicroBatch[], weightsVersion: number): Promise<SampleStats[]> {
    return this.dispatch(shards, async (h, batch) => {
      const r = await h.request(
        { type: "stats", id: this.nextId++, batch, weightsVersion },
        batchBuffers(batch),
      );
      if (r.type !== "stats") throw new Error(`internal: worker replied ${r.type} to stats`);
      return r.stats;
    });
  }

  /** Hands shard i to whichever worker is free; results in shard order. */
  private async dispatch<R>(
    shards: readonly MicroBatch[],
    run: (h: WorkerHandle, batch: MicroBatch, i: number) => Promise<R>,
  ): Promise<R[]> {
    const out = new Array<R>(shards.length);
    let next = 0;
    const drain = async (h: WorkerHandle): Promise<void> => {
      while (next < shards.length) {
        const i = next++;
        out[i] = await run(h, shards[i] as MicroBatch, i);
      }
    };
    await Promise.all(this.handles.map(drain));
    return out;
  }

  /** Terminates every worker and spawns fresh ones from the current master weights. */
  async restart(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.terminate()));
    this.restarts++;
    await this.spawnAll();
  }

  /** Test hook: kills worker i the way a wasm abort does. */
  crashForTest(i: number): void {
    this.handles[i]?.post({ type: "crash-for-test" });
  }

  async terminate(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.terminate()));
  }
}

const batchBuffers = (b: MicroBatch): ArrayBuffer[] =>
  [
    b.tokens.buffer,
    b.xt.buffer,
    b.eps.buffer,
    b.t.buffer,
    ...(b.labels ? [b.labels.buffer] : []),
    ...(b.epsRef ? [b.epsRef.buffer] : []),
    ...(b.sampleWeights ? [b.sampleWeights.buffer] : []),
  ] as ArrayBuffer[];
