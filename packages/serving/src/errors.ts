/**
 * Typed errors of the serving package. Callers branch on `code`, never on the message.
 */
export const SERVING_ERROR_CODES = [
  /** manifest.json is missing, unparsable, or fails validation (message names the field). */
  "INVALID_MANIFEST",
  /** model.onnx does not hash to manifest.onnx.sha256: a torn or tampered artifact. */
  "HASH_MISMATCH",
  /** The ONNX graph's inputs/outputs do not follow the tokens/x/t → eps contract or the manifest's sizes. */
  "CONTRACT_MISMATCH",
  /** A sampling request is out of range (steps, guidance, eta, batch, seeds, prompts). */
  "INVALID_REQUEST",
  /** forward/warm-up after release() was called on the host. */
  "HOST_RELEASED",
  /** ONNX Runtime failed to create a session or to run it. */
  "RUNTIME_ERROR",
  /** A model's output on the fixed check input is not finite or has the wrong shape (a broken version). */
  "OUTPUT_CHECK_FAILED",
  /** The export's recorded ONNX-vs-tfjs parity is missing or above tolerance. */
  "PARITY_FAILED",
  /** No servable version: none loaded yet, or the requested version is not ready on this host. */
  "VERSION_NOT_READY",
  /** A blob key is not 64 lowercase hex digits (the sha256 of the content). */
  "INVALID_BLOB_KEY",
] as const;
export type ServingErrorCode = (typeof SERVING_ERROR_CODES)[number];

export class ServingError extends Error {
  override readonly name = "ServingError";
  constructor(
    readonly code: ServingErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isServingError(e: unknown, code?: ServingErrorCode): e is ServingError {
  return e instanceof ServingError && (code === undefined || e.code === code);
}
