/**
 * Checks that decide whether a model version may serve: the fixed-input output check every host runs after
 * warm-up (finite ε of the right shape), and the registry's full verification of an artifact folder
 * (manifest → sha256 → recorded export parity → ONNX Runtime load → output check).
 */
import { ServingError } from "./errors";
import { type LoadedModel, modelFromManifest } from "./load-model";
import { type ModelManifest, readModelArtifact } from "./manifest";
import { IMAGE_CHANNELS, type ModelHostOptions } from "./model-host";
import { GaussianRng } from "./rng";

/** Export parity above these (max |ORT − tfjs|, relative L2) refuses a version. The exporter records ~1e-6. */
export const PARITY_TOLERANCE = { maxAbs: 1e-3, relL2: 1e-3 } as const;
/** |ε| beyond this on the check input means a broken model (ε is ~N(0, 1) for a working one). */
export const MAX_CHECK_ABS_EPS = 1e3;
const CHECK_SEED = 20_240_607;
const CHECK_TIMESTEPS = [999, 500, 1] as const;

export type OutputCheck = { batch: number; maxAbs: number; meanAbs: number; ms: number };

/**
 * Runs the fixed check input (three rows: t = 999/500/1, seeded noise, the first vocabulary words as prompt) and
 * refuses the model (OUTPUT_CHECK_FAILED) unless ε is float32 of the right length and finite within MAX_CHECK_ABS_EPS.
 */
export async function checkModelOutput(model: Pick<LoadedModel, "host" | "tokenizer">): Promise<OutputCheck> {
  const started = performance.now();
  const { imageSize: s, contextLength: l } = model.host.shape;
  const n = CHECK_TIMESTEPS.length;
  const pix = s * s * IMAGE_CHANNELS;
  const x = new Float32Array(n * pix);
  new GaussianRng(CHECK_SEED).fillGaussian(x);
  const tokens = new BigInt64Array(n * l);
  const words = model.tokenizer.vocab.slice(2, 2 + Math.min(3, l)).join(" ");
  const ids = model.tokenizer.encode(words).ids;
  for (let r = 0; r < n - 1; r++) ids.forEach((id, i) => (tokens[r * l + i] = BigInt(id))); // last row: unconditional
  const eps = await model.host.forward({ batch: n, tokens, x, t: Float32Array.from(CHECK_TIMESTEPS) });
  if (eps.length !== n * pix)
    throw new ServingError("OUTPUT_CHECK_FAILED", `output has ${eps.length} values, expected ${n * pix}`);
  let maxAbs = 0;
  let sumAbs = 0;
  let bad = 0;
  for (const v of eps) {
    if (!Number.isFinite(v)) bad++;
    else {
      const a = Math.abs(v);
      sumAbs += a;
      if (a > maxAbs) maxAbs = a;
    }
  }
  if (bad > 0)
    throw new ServingError(
      "OUTPUT_CHECK_FAILED",
      `output check: ${bad} of ${eps.length} ε values are NaN or infinite on the fixed check input`,
    );
  if (maxAbs > MAX_CHECK_ABS_EPS)
    throw new ServingError(
      "OUTPUT_CHECK_FAILED",
      `output check: max |ε| = ${maxAbs} exceeds ${MAX_CHECK_ABS_EPS}`,
    );
  return { batch: n, maxAbs, meanAbs: sumAbs / eps.length, ms: performance.now() - started };
}

export type VerifyOptions = ModelHostOptions & {
  /** Refuse a manifest without `onnx.parity` (default true: the exporter always records it). */
  requireParity?: boolean;
};

export type VerificationReport = {
  manifest: ModelManifest;
  /** sha256 of the ONNX file (verified against the manifest). */
  sha256: string;
  parity: { maxAbs: number; relL2: number } | null;
  loadMs: number;
  output: OutputCheck;
};

/** Throws PARITY_FAILED unless the manifest records an export parity within PARITY_TOLERANCE. */
export function checkRecordedParity(manifest: ModelManifest, requireParity = true): void {
  const p = manifest.onnx.parity;
  if (!p) {
    if (requireParity)
      throw new ServingError(
        "PARITY_FAILED",
        "manifest.onnx.parity is missing: the export's parity check was not recorded",
      );
    return;
  }
  if (p.maxAbs > PARITY_TOLERANCE.maxAbs || p.relL2 > PARITY_TOLERANCE.relL2)
    throw new ServingError(
      "PARITY_FAILED",
      `recorded export parity maxAbs ${p.maxAbs}, relL2 ${p.relL2} exceeds the tolerance ${PARITY_TOLERANCE.maxAbs} / ${PARITY_TOLERANCE.relL2}`,
    );
}

/**
 * Full verification of a version folder before it is registered: manifest fields, ONNX sha256, recorded parity,
 * load in ONNX Runtime (contract + warm-up), output check. The session is released before returning.
 * Throws the first failure as a ServingError (INVALID_MANIFEST, HASH_MISMATCH, PARITY_FAILED, RUNTIME_ERROR,
 * CONTRACT_MISMATCH, OUTPUT_CHECK_FAILED).
 */
export async function verifyModelArtifact(
  dir: string,
  options: VerifyOptions = {},
): Promise<VerificationReport> {
  const { requireParity = true, ...hostOptions } = options;
  const { manifest, onnxBytes } = await readModelArtifact(dir);
  checkRecordedParity(manifest, requireParity);
  const started = performance.now();
  const model = await modelFromManifest(manifest, onnxBytes, dir, { intraOpNumThreads: 1, ...hostOptions });
  const loadMs = performance.now() - started;
  try {
    const output = await checkModelOutput(model);
    return { manifest, sha256: manifest.onnx.sha256, parity: manifest.onnx.parity ?? null, loadMs, output };
  } finally {
    await model.host.release();
  }
}
