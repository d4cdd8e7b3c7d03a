/**
 * Messages between the training loop and its data-parallel gradient workers (worker.ts). Weights
 * and gradients travel through SharedArrayBuffers: the main thread writes the updated master
 * weights once per step, each worker writes its gradient slot, so a step costs two small
 * messages per worker plus the micro-batch (transferred, not copied).
 */
import { type ModelConfig } from "../model/config";
import { type BackendPreference } from "../tf/backend";
import { type MicroBatch } from "./batch";
import { type ParamLayout } from "./layout";
import { type ObjectiveOptions } from "./objective";

export type WorkerInit = {
  readonly type: "init";
  readonly cfg: ModelConfig;
  readonly layout: ParamLayout;
  /** Master weights float32 [P], shared; read by the worker on `syncWeights`. */
  readonly weights: SharedArrayBuffer;
  /** This worker's gradient slot float32 [P], shared; written by the worker. */
  readonly grads: SharedArrayBuffer;
  /** Frozen reference weights float32 [P] (copied once), when the objective needs them. */
  readonly reference?: Float32Array;
  readonly objective: string;
  readonly objectiveOptions: ObjectiveOptions;
  readonly backend: BackendPreference;
};

export type WorkerCompute = { readonly type: "compute"; readonly id: number; readonly batch: MicroBatch; readonly syncWeights: boolean };
/** Test hook: makes the worker die the way a wasm `Aborted()` does (an uncaught error). */
export type WorkerCrash = { readonly type: "crash-for-test" };
export type WorkerRequest = WorkerInit | WorkerCompute | WorkerCrash;

export type WorkerReply =
  | { readonly type: "ready"; readonly backend: string; readonly notes: readonly string[] }
  | { readonly type: "result"; readonly id: number; readonly loss: number }
  | { readonly type: "error"; readonly id?: number; readonly message: string; readonly code?: string };
