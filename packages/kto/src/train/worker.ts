/**
 * Entry point of a data-parallel gradient worker (worker_threads): owns its own tfjs wasm
 * backend and model replica, computes the gradient of its shard of each step into a shared
 * slot. A wasm abort surfaces in the parent as a worker error / exit (see worker-pool.ts).
 */
import { parentPort } from "node:worker_threads";

import { isKtoError } from "../errors";
import { initBackend } from "../tf/backend";
import { GradientEngine } from "./engine";
import { resolveObjective } from "./objective";
import { type SampleStats } from "../objective/batch-metrics";
import { type WorkerReply, type WorkerRequest } from "./worker-protocol";

const statsBuffers = (s: SampleStats): ArrayBuffer[] =>
  [
    s.errPolicy.buffer,
    ...(s.errRef ? [s.errRef.buffer] : []),
    ...(s.drift ? [s.drift.buffer] : []),
  ] as ArrayBuffer[];

const port = parentPort;
if (!port) throw new Error("train/worker.ts must run inside a worker_thread");

let engine: GradientEngine | undefined;
let weights: Float32Array | undefined;
let loadedVersion = -1;

const reply = (m: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

port.on("message", (msg: WorkerRequest) => {
  void handle(msg).catch((e: unknown) => {
    reply({
      type: "error",
      ...(msg.type === "compute" || msg.type === "stats" ? { id: msg.id } : {}),
      message: e instanceof Error ? e.message : String(e),
      ...(isKtoError(e) ? { code: e.code } : {}),
    });
  });
});

async function handle(msg: WorkerRequest): Promise<void> {
  switch (msg.type) {
    case "init": {
      const info = await initBackend(msg.backend);
      weights = new Float32Array(msg.weights);
      loadedVersion = -1;
      engine = new GradientEngine(
        msg.cfg,
        msg.layout,
        weights,
        resolveObjective(msg.objective),
        msg.objectiveOptions,
        msg.reference,
        msg.guidance ?? 1,
      );
      reply({ type: "ready", backend: info.backend, notes: info.notes });
      return;
    }
    case "compute":
    case "stats": {
      if (!engine || !weights) throw new Error("worker not initialised");
      if (msg.weightsVersion !== loadedVersion) {
        engine.setWeights(weights);
        loadedVersion = msg.weightsVersion;
      }
      if (msg.type === "stats") {
        const stats = engine.sampleStats(msg.batch);
        reply({ type: "stats", id: msg.id, stats }, statsBuffers(stats));
        return;
      }
      const { loss, stats } = engine.compute(msg.batch, new Float32Array(msg.slot), msg.objectiveOptions);
      reply({ type: "result", id: msg.id, loss, stats }, statsBuffers(stats));
      return;
    }
    case "crash-for-test":
      setImmediate(() => {
        throw new Error("Aborted() (simulated wasm abort)");
      });
      return;
  }
}
