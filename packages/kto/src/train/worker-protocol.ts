/**
 * Messages between the training loop and its data-parallel gradient workers (worker.ts). Weights
 * and gradients travel through SharedArrayBuffers: the main thread writes the updated master
 * weights once per step, a worker writes each shard's gradient into that shard's slot, so a
 * shard costs two small messages plus its micro-batch (transferred, not copied).
 */
import { type ModelConfig } from "../model/config";
import { type SampleStats } from "../objective/batch-metrics";
import { type BackendPreference } from "../tf/backend";
import { type MicroBatch } from "./batch";
import { type ParamLayout } from "./layout";
import { type ObjectiveOptions } from "./objective";

export type WorkerInit = {
  readonly type: "init";
  readonly cfg: ModelConfig;
  readonly layout: ParamLayout;
  /** Master weights float32 [P], shared; re-read by the worker whenever `weightsVersion` changes. */
  readonly weights: SharedArrayBuffer;
  /** Frozen reference weights float32 [P] (copied once), when the objective needs them. */
  readonly reference?: Float32Array;
  readonly objective: string;
  readonly objectiveOptions: ObjectiveOptions;
  readonly backend: BackendPreference;
  /** TrainOptions.guidanceScale (absent = 1, the plain prediction). */
  readonly guidance?: number;
};

/** Computes one shard; its gradient float32 [P] goes into `slot` (one shared slot per shard, summed in shard order). */
export type WorkerCompute = {
  readonly type: "compute";
  readonly id: number;
  readonly batch: MicroBatch;
  readonly slot: SharedArrayBuffer;
  /** Bumped by the main thread after every optimizer update. */
  readonly weightsVersion: number;
  /** Objective options for this shard only (e.g. the whole-batch reference point z). */
  readonly objectiveOptions?: ObjectiveOptions;
};
/** Forward only: the shard's per-sample errors (for a whole-batch reference point before the gradient pass). */
export type WorkerStats = {
  readonly type: "stats";
  readonly id: number;
  readonly batch: MicroBatch;
  readonly weightsVersion: number;
};
/** Test hook: makes the worker die the way a wasm `Aborted()` does (an uncaught error). */
export type WorkerCrash = { readonly type: "crash-for-test" };
export type WorkerRequest = WorkerInit | WorkerCompute | WorkerStats | WorkerCrash;

export type WorkerReply =
  | { readonly type: "ready"; readonly backend: string; readonly notes: readonly string[] }
  | { readonly type: "result"; readonly id: number; readonly loss: number; readonly stats: SampleStats }
  | { readonly type: "stats"; readonly id: number; readonly stats: SampleStats }
  | { readonly type: "error"; readonly id?: number; readonly message: string; readonly code?: string };
