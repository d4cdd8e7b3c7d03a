/**
 * Export gate: ONNX Runtime must reproduce the reference (tfjs) forward of the same weights on
 * fresh seeded random inputs — several batch sizes, timesteps spread over [0, 999] including both
 * ends, random prompts and all-pad (unconditional) rows — before exported bytes may be used.
 *
 * Tolerance: |ort − ref| ≤ atol + rtol·max|ref| elementwise, default atol = rtol = 1e-4.
 * Why: both sides compute in float32 and differ only in summation order / kernel choice; the
 * platform probe of this exact architecture measured max abs 2.5e-6 (the same as tfjs-wasm vs
 * tfjs-cpu). Export bugs (a mis-permuted kernel, swapped sin/cos, wrong GroupNorm grouping, a
 * corrupted weight) produce errors ≥ 1e-2 on outputs of magnitude ~1. 1e-4 sits 40× above the
 * noise floor and ~100× below the smallest bug we have seen, so it neither flakes nor hides bugs.
 */
import * as ort from "onnxruntime-node";

import { type ModelConfig } from "../model/config";
import { type WeightTensor } from "../model/params";
import { createRng } from "../rng";
import { exportOnnx, type ExportOptions, ONNX_IO } from "./export";
import { tfjsReference } from "./tf-reference";

/** One forward of the reference implementation: tokens [N*L] int32, x [N*H*W*3] NHWC, t [N] → ε̂ [N*H*W*3] NHWC. */
export type ReferenceForward = (input: {
  batch: number;
  tokens: Int32Array;
  x: Float32Array;
  t: Float32Array;
}) => Promise<Float32Array> | Float32Array;

export type ParityTolerance = { atol: number; rtol: number };
export const DEFAULT_PARITY_TOLERANCE: ParityTolerance = { atol: 1e-4, rtol: 1e-4 };

/** A parity case: `batch` rows, the first `emptyPrompts` of which are all-pad (unconditional). */
export type ParityCase = { batch: number; emptyPrompts: number };
export const DEFAULT_PARITY_CASES: readonly ParityCase[] = [
  { batch: 1, emptyPrompts: 0 },
  { batch: 3, emptyPrompts: 1 },
  { batch: 4, emptyPrompts: 4 },
];

export type ParityCaseReport = ParityCase & {
  timesteps: number[];
  maxAbs: number;
  relL2: number;
  maxRef: number;
};

export type ParityReport = {
  isWithinTolerance: boolean;
  tolerance: ParityTolerance;
  /** Worst case over all cases. */
  maxAbs: number;
  relL2: number;
  /** max|ref| over all cases (the scale of the outputs the errors are relative to). */
  maxRef: number;
  cases: ParityCaseReport[];
};

/** Thrown by exportVerifiedOnnx when ORT and the reference disagree; carries the full report. */
export class OnnxParityError extends Error {
  override readonly name = "OnnxParityError";
  /** Stable code for run statuses: "ONNX_PARITY" = the exported graph does not reproduce tfjs. */
  readonly code = "ONNX_PARITY";
  constructor(readonly report: ParityReport) {
    super(
      `ONNX export refused: ORT differs from the tfjs forward by max abs ${report.maxAbs.toExponential(3)} ` +
        `(rel L2 ${report.relL2.toExponential(3)}, max|ref| ${report.maxRef.toFixed(3)}); allowed ${report.tolerance.atol} + ${report.tolerance.rtol}·max|ref|`,
    );
  }
}

export function isOnnxParityError(e: unknown): e is OnnxParityError {
  return e instanceof OnnxParityError;
}

function randomCase(cfg: ModelConfig, c: ParityCase, seed: number, index: number) {
  const rng = createRng(seed, 0x0a11, index);
  const l = cfg.text.contextLength;
  const s = cfg.imageSize;
  const tokens = new Int32Array(c.batch * l);
  for (let r = c.emptyPrompts; r < c.batch; r++) {
    const words = 1 + rng.int(l); // 1…L words, then padding, like real prompts
    for (let i = 0; i < words; i++) tokens[r * l + i] = 1 + rng.int(cfg.text.vocabSize - 1);
  }
  const x = rng.fillNormal(new Float32Array(c.batch * s * s * 3));
  // Both schedule ends are where sin/cos arguments and noise levels are extreme; always include them.
  const t = Float32Array.from({ length: c.batch }, (_, i) =>
    index === 0 && i === 0 ? 999 : index === 1 && i === 0 ? 0 : rng.int(1000),
  );
  return { batch: c.batch, tokens, x, t };
}

/**
 * Runs `onnx` in ORT and `reference` on the same seeded random inputs; returns max abs / rel L2
 * errors per case. Never throws on a mismatch (see exportVerifiedOnnx); throws if ORT cannot run it.
 */
export async function checkOnnxParity(args: {
  cfg: ModelConfig;
  onnx: Uint8Array;
  reference: ReferenceForward;
  seed?: number;
  cases?: readonly ParityCase[];
  tolerance?: ParityTolerance;
}): Promise<ParityReport> {
  const { cfg, onnx, reference } = args;
  const tolerance = args.tolerance ?? DEFAULT_PARITY_TOLERANCE;
  const cases = args.cases ?? DEFAULT_PARITY_CASES;
  const s = cfg.imageSize;
  const l = cfg.text.contextLength;
  const session = await ort.InferenceSession.create(onnx, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  });
  const reports: ParityCaseReport[] = [];
  try {
    for (const [index, c] of cases.entries()) {
      const input = randomCase(cfg, c, args.seed ?? 1234, index);
      const out = await session.run({
        [ONNX_IO.tokens]: new ort.Tensor(
          "int64",
          BigInt64Array.from(input.tokens, (v) => BigInt(v)),
          [c.batch, l],
        ),
        [ONNX_IO.x]: new ort.Tensor("float32", input.x, [c.batch, s, s, 3]),
        [ONNX_IO.t]: new ort.Tensor("float32", input.t, [c.batch]),
      });
      const got = out[ONNX_IO.eps]?.data;
      if (!(got instanceof Float32Array))
        throw new Error(`ONNX graph has no float32 "${ONNX_IO.eps}" output`);
      const want = await reference(input);
      if (want.length !== got.length)
        throw new Error(`reference gave ${want.length} values, ORT ${got.length}`);
      let maxAbs = 0;
      let maxRef = 0;
      let num = 0;
      let den = 0;
      for (let i = 0; i < got.length; i++) {
        const d = Math.abs((got[i] ?? 0) - (want[i] ?? 0));
        // NaN must fail the check, and Math.max(NaN, …) would propagate it: make it infinite.
        maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
        maxRef = Math.max(maxRef, Math.abs(want[i] ?? 0));
        num += d * d;
        den += (want[i] ?? 0) ** 2;
      }
      reports.push({
        ...c,
        timesteps: Array.from(input.t),
        maxAbs,
        relL2: Math.sqrt(num / Math.max(den, 1e-30)),
        maxRef,
      });
    }
  } finally {
    await session.release();
  }
  const maxAbs = Math.max(...reports.map((r) => r.maxAbs));
  const maxRef = Math.max(...reports.map((r) => r.maxRef));
  const relL2 = Math.max(...reports.map((r) => r.relL2));
  return {
    isWithinTolerance: maxAbs <= tolerance.atol + tolerance.rtol * maxRef,
    tolerance,
    maxAbs,
    relL2,
    maxRef,
    cases: reports,
  };
}

/**
 * cfg + weights → ONNX bytes that passed the parity gate, with the report (to store in the manifest).
 * The reference defaults to the tfjs forward of the same weights on the active tfjs backend
 * (initBackend first); pass `reference` to compare against something else. Throws OnnxParityError
 * when ORT and the reference differ beyond the tolerance.
 */
export async function exportVerifiedOnnx(
  cfg: ModelConfig,
  weights: ReadonlyMap<string, WeightTensor>,
  options: ExportOptions & {
    reference?: ReferenceForward;
    seed?: number;
    cases?: readonly ParityCase[];
    tolerance?: ParityTolerance;
  } = {},
): Promise<{ bytes: Uint8Array; parity: ParityReport }> {
  const bytes = exportOnnx(cfg, weights, options);
  const own = options.reference ? null : tfjsReference(cfg, weights);
  let parity: ParityReport;
  try {
    parity = await checkOnnxParity({
      cfg,
      onnx: bytes,
      reference: options.reference ?? (own as NonNullable<typeof own>).forward, // safe: own is set exactly when no reference was given
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.cases ? { cases: options.cases } : {}),
      ...(options.tolerance ? { tolerance: options.tolerance } : {}),
    });
  } finally {
    own?.dispose();
  }
  if (!parity.isWithinTolerance) throw new OnnxParityError(parity);
  return { bytes, parity };
}
