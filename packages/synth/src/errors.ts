/**
 * Typed errors of the shapes world. Each carries a stable `code` so callers (the trainer's CLI,
 * the rater simulator) can report the failure without parsing messages.
 */

export const SYNTH_ERROR_CODES = [
  /** A caption is not a sentence of the shapes-world grammar (parseCaption). */
  "INVALID_CAPTION",
  /** A rater preference spec fails validation; the message names the bad field. */
  "INVALID_RATER_SPEC",
  /** An option is out of range: image size, batch size, flaw mix, attribute value… */
  "INVALID_OPTIONS",
] as const;
export type SynthErrorCode = (typeof SYNTH_ERROR_CODES)[number];

export class SynthError extends Error {
  override readonly name = "SynthError";
  constructor(
    readonly code: SynthErrorCode,
    message: string,
    readonly issues: readonly string[] = [message],
  ) {
    super(message);
  }
}

/** True when `e` is a SynthError (optionally with the given code). */
export function isSynthError(e: unknown, code?: SynthErrorCode): e is SynthError {
  return e instanceof SynthError && (code === undefined || e.code === code);
}
