/**
 * Knobs of the alignment objectives (Diffusion-KTO, Li et al. 2024; Diffusion-DPO, Wallace et al.
 * 2023; SFT), their paper defaults, validation, and the numeric codes that carry the enums through
 * `ObjectiveOptions` (a Record<string, number>, so options cross worker-thread boundaries as JSON).
 */
import { KtoError } from "../errors";

/** Utility U applied to u = s·β·(g − z). Code = index: 0 sigmoid (Kahneman–Tversky, default), 1 loss-averse log σ, 2 risk-seeking −log σ(−x). */
export const UTILITIES = ["sigmoid", "loss-averse", "risk-seeking"] as const;
export type Utility = (typeof UTILITIES)[number];

/**
 * Reference point z. Code = index: 0 `batch` (code default: mean g over the batch, clamped ≥ 0),
 * 1 `class-balanced` (½(mean g⁺ + mean g⁻), not clamped), 2 `mismatched` (KTO-style rolled prompts,
 * not clamped: code `original`), 3 `mismatched-clamped` (the paper's wording: rolled prompts, clamped ≥ 0).
 */
export const REFERENCE_POINTS = ["batch", "class-balanced", "mismatched", "mismatched-clamped"] as const;
export type ReferencePoint = (typeof REFERENCE_POINTS)[number];

/** SFT normalisation. Code = index: 0 `desirable` (mean over desirable samples: the paper's SFT), 1 `batch` (code's `--loss sft`: Σ over desirable / B). */
export const SFT_NORMALIZATIONS = ["desirable", "batch"] as const;
export type SftNormalization = (typeof SFT_NORMALIZATIONS)[number];

export type KtoOptions = {
  /** β > 0 on per-element-mean MSE differences. Paper: 5000 (App. A.1); the official code runs 1000. */
  readonly beta: number;
  /** λ_D ≥ 0: weight of desirable samples (code default 1). */
  readonly lambdaD: number;
  /** λ_U ≥ 0: weight of undesirable samples (code default 1). */
  readonly lambdaU: number;
  readonly utility: Utility;
  readonly referencePoint: ReferencePoint;
};

export type DpoOptions = {
  /** β > 0 in the official ½β form. Default 5000 (Diffusion-DPO's SDXL/launcher value; its SD1.5 paper runs use 2000). */
  readonly beta: number;
};

export type SftOptions = { readonly normalize: SftNormalization };

/** Paper defaults (App. A.1): β = 5000, sigmoid utility, λ_D = λ_U = 1, the code's default reference point. */
export const DEFAULT_KTO_OPTIONS: KtoOptions = {
  beta: 5000,
  lambdaD: 1,
  lambdaU: 1,
  utility: "sigmoid",
  referencePoint: "batch",
};
export const DEFAULT_DPO_OPTIONS: DpoOptions = { beta: 5000 };
export const DEFAULT_SFT_OPTIONS: SftOptions = { normalize: "desirable" };
/** γ, the share of desirable samples the positive-ratio sampler draws (paper §4.2 and example.sh; code default 0.5). */
export const DEFAULT_POSITIVE_RATIO = 0.8;

const invalid = (msg: string): never => {
  throw new KtoError("INVALID_OBJECTIVE", `Invalid objective options: ${msg}`);
};

function checkBeta(beta: number): void {
  if (!(Number.isFinite(beta) && beta > 0)) invalid(`beta must be a finite number > 0 (got ${beta})`);
}

function checkLambda(name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) invalid(`${name} must be a finite number ≥ 0 (got ${v})`);
}

function checkChoice<C extends readonly string[]>(name: string, v: string, choices: C): void {
  if (!choices.includes(v)) invalid(`unknown ${name} ${JSON.stringify(v)} (known: ${choices.join(", ")})`);
}

/** Partial options → complete, validated KTO options (throws INVALID_OBJECTIVE). */
export function resolveKtoOptions(o: Partial<KtoOptions> = {}): KtoOptions {
  const r: KtoOptions = { ...DEFAULT_KTO_OPTIONS, ...o };
  checkBeta(r.beta);
  checkLambda("lambdaD", r.lambdaD);
  checkLambda("lambdaU", r.lambdaU);
  checkChoice("utility", r.utility, UTILITIES);
  checkChoice("reference point", r.referencePoint, REFERENCE_POINTS);
  return r;
}

export function resolveDpoOptions(o: Partial<DpoOptions> = {}): DpoOptions {
  const r: DpoOptions = { ...DEFAULT_DPO_OPTIONS, ...o };
  checkBeta(r.beta);
  return r;
}

export function resolveSftOptions(o: Partial<SftOptions> = {}): SftOptions {
  const r: SftOptions = { ...DEFAULT_SFT_OPTIONS, ...o };
  checkChoice("SFT normalization", r.normalize, SFT_NORMALIZATIONS);
  return r;
}

function fromCode<C extends readonly string[]>(name: string, code: number, choices: C): C[number] {
  const v = Number.isInteger(code) ? choices[code] : undefined;
  if (v === undefined)
    return invalid(
      `${name} code must be an integer 0…${choices.length - 1} (${choices.map((c, i) => `${i} = ${c}`).join(", ")}), got ${code}`,
    );
  return v;
}

function checkKeys(o: Readonly<Record<string, number>>, known: readonly string[], objective: string): void {
  for (const k of Object.keys(o))
    if (!known.includes(k))
      invalid(`unknown option "${k}" for objective "${objective}" (known: ${known.join(", ")})`);
}

/** ObjectiveOptions { beta?, lambdaD?, lambdaU?, utility? (code), referencePoint? (code) } → KTO options. */
export function ktoOptionsFromCodes(o: Readonly<Record<string, number>>): KtoOptions {
  checkKeys(o, ["beta", "lambdaD", "lambdaU", "utility", "referencePoint"], "kto");
  return resolveKtoOptions({
    ...(o.beta !== undefined ? { beta: o.beta } : {}),
    ...(o.lambdaD !== undefined ? { lambdaD: o.lambdaD } : {}),
    ...(o.lambdaU !== undefined ? { lambdaU: o.lambdaU } : {}),
    ...(o.utility !== undefined ? { utility: fromCode("utility", o.utility, UTILITIES) } : {}),
    ...(o.referencePoint !== undefined
      ? { referencePoint: fromCode("referencePoint", o.referencePoint, REFERENCE_POINTS) }
      : {}),
  });
}

/** KTO options → ObjectiveOptions with numeric codes (the inverse of `ktoOptionsFromCodes`). */
export function ktoOptionsToCodes(o: Partial<KtoOptions>): Record<string, number> {
  const r = resolveKtoOptions(o);
  return {
    beta: r.beta,
    lambdaD: r.lambdaD,
    lambdaU: r.lambdaU,
    utility: UTILITIES.indexOf(r.utility),
    referencePoint: REFERENCE_POINTS.indexOf(r.referencePoint),
  };
}

/** ObjectiveOptions { beta? } → DPO options. */
export function dpoOptionsFromCodes(o: Readonly<Record<string, number>>): DpoOptions {
  checkKeys(o, ["beta"], "dpo");
  return resolveDpoOptions(o.beta !== undefined ? { beta: o.beta } : {});
}

/** ObjectiveOptions { normalize? (code) } → SFT options. */
export function sftOptionsFromCodes(o: Readonly<Record<string, number>>): SftOptions {
  checkKeys(o, ["normalize"], "sft");
  return resolveSftOptions(
    o.normalize !== undefined ? { normalize: fromCode("normalize", o.normalize, SFT_NORMALIZATIONS) } : {},
  );
}
