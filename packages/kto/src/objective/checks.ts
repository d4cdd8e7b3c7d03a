/**
 * Input checks shared by the alignment objectives: binary labels (+1 desirable / −1 undesirable, the
 * training set's convention) and finiteness of the per-sample errors. The errors are [B] vectors, so a
 * synchronous read is cheap, and any NaN/±Inf in ε, ε_θ or ε_ref shows up in them.
 */
import type * as tf from "@tensorflow/tfjs";

import { KtoError } from "../errors";

/** labels [B] (+1 / −1) → the values, checked against the batch size. */
export function readLabels(labels: tf.Tensor1D, batch: number): Float32Array | Int32Array | Uint8Array {
  if (labels.rank !== 1 || labels.shape[0] !== batch) {
    throw new KtoError(
      "INVALID_OBJECTIVE",
      `labels must be [${batch}] (one per sample), got [${labels.shape.join(",")}]`,
    );
  }
  const values = labels.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== 1 && v !== -1)
      throw new KtoError(
        "INVALID_OBJECTIVE",
        `label ${i} is ${v}; labels must be +1 (desirable) or −1 (undesirable)`,
      );
  }
  return values;
}

/** Throws NON_FINITE_INPUT naming `what` when a per-sample error [B] has NaN or ±Inf. */
export function assertFinite(errors: tf.Tensor1D, what: string): void {
  const values = errors.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? Number.NaN;
    if (!Number.isFinite(v)) {
      throw new KtoError(
        "NON_FINITE_INPUT",
        `the ${what} denoising error of sample ${i} is ${v}: ε or the ${what} prediction contains NaN or ±Infinity`,
      );
    }
  }
}

/** Throws INVALID_OBJECTIVE unless every tensor is [B] for one B ≥ 1; returns B. */
export function batchSize(what: string, ...vectors: tf.Tensor[]): number {
  const B = vectors[0]?.shape[0] ?? 0;
  for (const v of vectors) {
    if (v.rank !== 1 || v.shape[0] !== B)
      throw new KtoError(
        "INVALID_OBJECTIVE",
        `${what}: per-sample tensors must all be [B], got ${vectors.map((x) => `[${x.shape.join(",")}]`).join(" ")}`,
      );
  }
  if (B < 1) throw new KtoError("INVALID_OBJECTIVE", `${what}: empty batch`);
  return B;
}
