/**
 * Simulated raters: spec + judge features → like probability → a vote. Every random choice is
 * a pure function of (seed, rater, image): which persona rater r is, and whether rater r likes
 * image i, so simulations replay exactly and one rater keeps one taste across images.
 */
import { type JudgeFeatures } from "../judge/judge";
import { createRng } from "../rng";
import { type Persona, type RaterSpec } from "./spec";

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Utility a persona assigns to an image (logistic: bias + Σ w·f; threshold: feature − atLeast). */
export function personaUtility(persona: Persona, features: JudgeFeatures): number {
  if (persona.kind === "threshold") return features[persona.feature] - persona.atLeast;
  let u = persona.bias;
  for (const [f, w] of Object.entries(persona.weights) as Array<[keyof JudgeFeatures, number]>)
    u += w * features[f];
  return u;
}

/** P(like) for one persona: σ(utility / noise), or the step function 1[utility ≥ 0] when noise = 0. */
export function personaLikeProbability(persona: Persona, features: JudgeFeatures): number {
  const u = personaUtility(persona, features);
  if (persona.noise === 0) return u >= 0 ? 1 : 0;
  return sigmoid(u / persona.noise);
}

/** P(like) of a random rater of the population: Σ share · P(like | persona). */
export function likeProbability(spec: RaterSpec, features: JudgeFeatures): number {
  return spec.population.reduce((s, p) => s + p.share * personaLikeProbability(p, features), 0);
}

/** Stream ids under the simulation seed. */
const STREAM = { persona: 1, vote: 2 } as const;

/** 32-bit FNV-1a of a string, so string image/rater ids (uuids) address RNG streams too. */
export function hashKey(key: string | number): number {
  if (typeof key === "number") return key;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** The persona rater `raterId` holds under `seed`, drawn by the population shares. */
export function assignPersona(spec: RaterSpec, seed: number, raterId: string | number): Persona {
  const u = createRng(seed, STREAM.persona, hashKey(raterId)).uniform();
  let acc = 0;
  for (const p of spec.population) {
    acc += p.share;
    if (u < acc) return p;
  }
  const last = spec.population[spec.population.length - 1];
  if (last === undefined) throw new RangeError("rater spec has an empty population");
  return last;
}

export type Vote = {
  isLiked: boolean;
  /** P(like) of this rater's persona for this image. */
  probability: number;
  persona: string;
};

/** Rater `raterId`'s vote on image `imageId` with the given judge features; deterministic in (seed, rater, image). */
export function simulateVote(
  spec: RaterSpec,
  features: JudgeFeatures,
  ids: { seed: number; raterId: string | number; imageId: string | number },
): Vote {
  const persona = assignPersona(spec, ids.seed, ids.raterId);
  const probability = personaLikeProbability(persona, features);
  const u = createRng(ids.seed, STREAM.vote, hashKey(ids.raterId), hashKey(ids.imageId)).uniform();
  return { isLiked: u < probability, probability, persona: persona.name };
}
