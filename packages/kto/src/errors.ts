/**
 * Typed errors of the diffusion engine. Every failure a caller can act on carries a stable
 * `code` (documenso's AppErrorCode pattern), so the trainer can map it to a run status.
 */

export const KTO_ERROR_CODES = [
  /** A model config is malformed: unknown family, image size not divisible, bad channels… */
  "INVALID_CONFIG",
  /** A training option is malformed (learning rate, accumulation, dropout, steps…). */
  "INVALID_TRAIN_OPTIONS",
  /** The requested batch would push the wasm heap past its 4 GB cap. */
  "BATCH_TOO_LARGE",
  /** The loss became NaN or ±Infinity. */
  "NON_FINITE_LOSS",
  /** A parameter is missing from a weight map or has the wrong shape. */
  "WEIGHTS_MISMATCH",
  /** Checkpoint or weight bytes are malformed or were written for another model. */
  "BAD_CHECKPOINT",
  /** No tfjs backend could be initialised. */
  "BACKEND_UNAVAILABLE",
  /** A training worker died (e.g. the wasm module `Aborted()`); the caller may restart it. */
  "WORKER_CRASHED",
  /** Training was cancelled through its AbortSignal. */
  "CANCELLED",
  /** An alignment objective's option or input is malformed: β ≤ 0, λ < 0, unknown utility/reference point, bad labels or shapes. */
  "INVALID_OBJECTIVE",
  /** An objective input (ε, ε_θ, ε_ref or a denoising error derived from them) is NaN or ±Infinity. */
  "NON_FINITE_INPUT",
] as const;
export type KtoErrorCode = (typeof KTO_ERROR_CODES)[number];

export class KtoError extends Error {
  override readonly name = "KtoError";
  constructor(
    readonly code: KtoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `e` is a KtoError (optionally with the given code). Works across worker boundaries via `code`. */
export function isKtoError(e: unknown, code?: KtoErrorCode): e is KtoError {
  return e instanceof KtoError && (code === undefined || e.code === code);
}
