/**
 * Rater preference specs: JSON a person can write, validated with errors that name the field.
 *
 * A spec is a population of personas with shares summing to 1. Each persona turns the judge's
 * flat features (JUDGE_FEATURES) into a like probability:
 *
 * - "logistic": utility u = bias + Σ weights[f]·features[f]; the rater likes iff u + ε ≥ 0 with
 *   ε ~ Logistic(0, noise), so P(like) = σ(u / noise). noise = 0 makes the vote deterministic.
 * - "threshold": like iff features[feature] + ε ≥ atLeast (the paper's "aesthetic score ≥ 7"
 *   experiment), ε as above, so P(like) = σ((features[feature] − atLeast) / noise).
 *
 * The validator is hand-written rather than zod so this leaf package needs no dependency; it
 * reports every problem at once, each prefixed with its JSON path.
 */
import { SynthError } from "../errors";
import { JUDGE_FEATURES, type JudgeFeature } from "../judge/judge";

export type LogisticPersona = {
  name: string;
  share: number;
  kind: "logistic";
  weights: Partial<Record<JudgeFeature, number>>;
  bias: number;
  /** Scale s ≥ 0 of the logistic noise on the utility; 0 = deterministic. */
  noise: number;
};

export type ThresholdPersona = {
  name: string;
  share: number;
  kind: "threshold";
  feature: JudgeFeature;
  atLeast: number;
  /** Scale s ≥ 0 of the logistic noise on the feature; 0 = a hard threshold. */
  noise: number;
};

export type Persona = LogisticPersona | ThresholdPersona;

export type RaterSpec = {
  name: string;
  description?: string;
  /** Personas; shares sum to 1. */
  population: Persona[];
};

export type RaterSpecValidation = { ok: true; spec: RaterSpec } | { ok: false; issues: string[] };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isFeature = (v: unknown): v is JudgeFeature =>
  typeof v === "string" && (JUDGE_FEATURES as readonly string[]).includes(v);
const show = (v: unknown): string => (v === undefined ? "nothing" : JSON.stringify(v));

const SPEC_KEYS = ["name", "description", "population"];
const COMMON_KEYS = ["name", "share", "kind", "noise"];
const LOGISTIC_KEYS = [...COMMON_KEYS, "weights", "bias"];
const THRESHOLD_KEYS = [...COMMON_KEYS, "feature", "atLeast"];

function unknownKeys(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  issues: string[],
): void {
  for (const k of Object.keys(obj))
    if (!allowed.includes(k)) issues.push(`${path}.${k}: unknown field (expected ${allowed.join(", ")})`);
}

function checkPersona(raw: unknown, path: string, issues: string[]): Persona | null {
  if (!isRecord(raw)) {
    issues.push(`${path}: must be an object, got ${show(raw)}`);
    return null;
  }
  const before = issues.length;
  const name = raw.name;
  if (typeof name !== "string" || name.length === 0)
    issues.push(`${path}.name: must be a non-empty string, got ${show(name)}`);
  const share = raw.share;
  if (!isFiniteNumber(share) || share <= 0 || share > 1)
    issues.push(`${path}.share: must be a number in (0, 1], got ${show(share)}`);
  const noise = raw.noise ?? 0;
  if (!isFiniteNumber(noise) || noise < 0)
    issues.push(`${path}.noise: must be a number ≥ 0, got ${show(raw.noise)}`);
  const kind = raw.kind;
  if (kind === "logistic") {
    unknownKeys(raw, LOGISTIC_KEYS, path, issues);
    const weights = raw.weights;
    const clean: Partial<Record<JudgeFeature, number>> = {};
    if (!isRecord(weights) || Object.keys(weights).length === 0) {
      issues.push(`${path}.weights: must be a non-empty object of feature → number, got ${show(weights)}`);
    } else {
      for (const [f, w] of Object.entries(weights)) {
        if (!isFeature(f))
          issues.push(`${path}.weights.${f}: unknown feature (expected one of ${JUDGE_FEATURES.join(", ")})`);
        else if (!isFiniteNumber(w))
          issues.push(`${path}.weights.${f}: must be a finite number, got ${show(w)}`);
        else clean[f] = w;
      }
    }
    const bias = raw.bias ?? 0;
    if (!isFiniteNumber(bias)) issues.push(`${path}.bias: must be a finite number, got ${show(raw.bias)}`);
    if (issues.length > before) return null;
    return {
      name: name as string,
      share: share as number,
      kind,
      weights: clean,
      bias: bias as number,
      noise: noise as number,
    };
  }
  if (kind === "threshold") {
    unknownKeys(raw, THRESHOLD_KEYS, path, issues);
    const feature = raw.feature;
    if (!isFeature(feature))
      issues.push(`${path}.feature: must be one of ${JUDGE_FEATURES.join(", ")}, got ${show(feature)}`);
    const atLeast = raw.atLeast;
    if (!isFiniteNumber(atLeast))
      issues.push(`${path}.atLeast: must be a finite number, got ${show(atLeast)}`);
    if (issues.length > before) return null;
    return {
      name: name as string,
      share: share as number,
      kind,
      feature: feature as JudgeFeature,
      atLeast: atLeast as number,
      noise: noise as number,
    };
  }
  issues.push(`${path}.kind: must be "logistic" or "threshold", got ${show(kind)}`);
  return null;
}

/** Validates a parsed-JSON spec; returns the typed spec or every issue, each naming its field. */
export function validateRaterSpec(input: unknown): RaterSpecValidation {
  const issues: string[] = [];
  if (!isRecord(input)) return { ok: false, issues: [`spec: must be an object, got ${show(input)}`] };
  unknownKeys(input, SPEC_KEYS, "spec", issues);
  if (typeof input.name !== "string" || input.name.length === 0)
    issues.push(`spec.name: must be a non-empty string, got ${show(input.name)}`);
  if (input.description !== undefined && typeof input.description !== "string")
    issues.push(`spec.description: must be a string, got ${show(input.description)}`);
  const pop = input.population;
  const population: Persona[] = [];
  if (!Array.isArray(pop) || pop.length === 0) {
    issues.push(`spec.population: must be a non-empty array of personas, got ${show(pop)}`);
  } else {
    pop.forEach((raw, i) => {
      const p = checkPersona(raw, `spec.population[${i}]`, issues);
      if (p !== null) population.push(p);
    });
    const names = population.map((p) => p.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        issues.push(`spec.population[${i}].name: duplicate persona name ${show(n)}`);
    });
    if (population.length === pop.length) {
      const total = population.reduce((s, p) => s + p.share, 0);
      if (Math.abs(total - 1) > 1e-6) issues.push(`spec.population: shares must sum to 1, got ${total}`);
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  const spec: RaterSpec = { name: input.name as string, population };
  if (typeof input.description === "string") spec.description = input.description;
  return { ok: true, spec };
}

/** Validates a spec (parsed JSON or a JSON string); throws SynthError("INVALID_RATER_SPEC") listing every issue. */
export function parseRaterSpec(input: unknown): RaterSpec {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input) as unknown;
    } catch (e) {
      throw new SynthError(
        "INVALID_RATER_SPEC",
        `spec: not valid JSON (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  }
  const result = validateRaterSpec(value);
  if (!result.ok)
    throw new SynthError(
      "INVALID_RATER_SPEC",
      `invalid rater spec: ${result.issues.join("; ")}`,
      result.issues,
    );
  return result.spec;
}
