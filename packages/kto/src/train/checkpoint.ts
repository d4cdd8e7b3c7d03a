/**
 * Training checkpoints as bytes: everything needed to continue a run bit-identically — weights,
 * Adam moments and step count, the RNG position (data order and noise are pure functions of
 * (seed, step, slot), so the position is the step), and the run's hyper-parameters.
 * Layout: magic "LWCKPT01" | u32 LE header length | header JSON (UTF-8) | zero pad to 4 |
 * float32 LE weights [P] | Adam m [P] | Adam v [P] [| EMA weights [P] when header.ema is set], P = total parameter count.
 */
import { KtoError } from "../errors";
import { validateModelConfig, type ModelConfig } from "../model/config";
import { type ScheduleSpec } from "../schedule";
import { type ParamLayout } from "./layout";

const MAGIC = "LWCKPT01";

export type CheckpointTraining = {
  readonly batchSize: number;
  readonly learningRate: number;
  readonly warmupSteps: number;
  /** Absent when the learning rate stays constant after warm-up. */
  readonly learningRateDecay?: { readonly totalSteps: number; readonly finalRatio: number };
  readonly maxGradNorm: number;
  readonly gradientAccumulation: number;
  readonly promptDropout: number;
  readonly objective: string;
  readonly objectiveOptions: Readonly<Record<string, number>>;
  readonly freezeTextEncoder: boolean;
  /** Name patterns of the trained parameters, when not all are (TrainOptions.trainableParameters). */
  readonly trainableParameters?: readonly string[];
  /** γ of the positive-ratio sampler, when used. */
  readonly positiveRatio?: number;
  /** Number of DPO pairs, when training on pairs. */
  readonly pairs?: number;
  /** Timestep weighting of the denoising loss, when used. */
  readonly lossWeighting?: { readonly kind: "v"; readonly max: number };
  /** Decay of the exponential moving average of the weights, when one is kept. */
  readonly emaDecay?: number;
};

export type CheckpointHeader = {
  readonly format: "likewise-checkpoint";
  readonly version: 1;
  readonly config: ModelConfig;
  readonly schedule: ScheduleSpec;
  /** Optimizer steps completed. */
  readonly step: number;
  readonly seed: number;
  /** Randomness position: every stream is splitSeed(seed, stream, step, …), so resuming at `step` resumes it. */
  readonly rng: { readonly kind: "split-seed"; readonly seed: number; readonly nextStep: number };
  readonly adam: {
    readonly t: number;
    readonly beta1: number;
    readonly beta2: number;
    readonly epsilon: number;
  };
  readonly training: CheckpointTraining;
  readonly tensors: readonly {
    readonly name: string;
    readonly shape: readonly number[];
    readonly trainable: boolean;
  }[];
  readonly total: number;
  /** Present when the checkpoint carries EMA weights (a fourth block of P floats). */
  readonly ema?: { readonly decay: number };
};

export type Checkpoint = {
  readonly header: CheckpointHeader;
  /** float32 [P] */
  readonly weights: Float32Array;
  readonly adamM: Float32Array;
  readonly adamV: Float32Array;
  /** EMA of the weights [P]; required exactly when header.ema is set. */
  readonly ema?: Float32Array;
};

/** header + weights/m/v [P] → bytes. */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(c.header));
  const headerEnd = 8 + 4 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const P = c.header.total;
  if (Boolean(c.header.ema) !== Boolean(c.ema))
    throw new Error("internal: checkpoint EMA block and header.ema disagree");
  const blocks = c.ema ? 4 : 3;
  const out = new Uint8Array(dataStart + blocks * P * 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  const f32 = new Float32Array(out.buffer, dataStart, blocks * P);
  f32.set(c.weights, 0);
  f32.set(c.adamM, P);
  f32.set(c.adamV, 2 * P);
  if (c.ema) f32.set(c.ema, 3 * P);
  return out;
}

const bad = (msg: string): never => {
  throw new KtoError("BAD_CHECKPOINT", `bad checkpoint: ${msg}`);
};

/** bytes → checkpoint (copies). Throws KtoError("BAD_CHECKPOINT") when malformed. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  if (bytes.byteLength < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC)
    bad("missing LWCKPT01 magic");
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + len > bytes.byteLength) bad("truncated header");
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as CheckpointHeader;
  } catch (e) {
    return bad(`unreadable header (${String(e)})`);
  }
  if (header.format !== "likewise-checkpoint" || header.version !== 1) bad("unknown format/version");
  validateModelConfig(header.config);
  const P = header.total;
  const dataStart = Math.ceil((12 + len) / 4) * 4;
  if (header.ema !== undefined && !(header.ema.decay > 0 && header.ema.decay < 1))
    bad("ema.decay must be in (0, 1)");
  const blocks = header.ema ? 4 : 3;
  if (bytes.byteLength !== dataStart + blocks * P * 4)
    bad(`expected ${dataStart + blocks * P * 4} bytes, got ${bytes.byteLength}`);
  const copy = bytes.slice(dataStart); // aligned copy
  const f32 = new Float32Array(copy.buffer, copy.byteOffset, blocks * P);
  return {
    header,
    weights: f32.slice(0, P),
    adamM: f32.slice(P, 2 * P),
    adamV: f32.slice(2 * P, 3 * P),
    ...(header.ema ? { ema: f32.slice(3 * P, 4 * P) } : {}),
  };
}

/** Throws BAD_CHECKPOINT unless the checkpoint's tensors match `layout` (names, shapes, order). */
export function checkCheckpointLayout(header: CheckpointHeader, layout: ParamLayout): void {
  if (header.total !== layout.total || header.tensors.length !== layout.names.length)
    bad("parameter count differs from the model");
  header.tensors.forEach((t, i) => {
    const shape = layout.shapes[i] ?? [];
    if (
      t.name !== layout.names[i] ||
      t.shape.length !== shape.length ||
      t.shape.some((d, j) => d !== shape[j])
    ) {
      bad(
        `tensor ${i} is ${t.name} [${t.shape.join(",")}], the model has ${layout.names[i]} [${shape.join(",")}]`,
      );
    }
  });
}
