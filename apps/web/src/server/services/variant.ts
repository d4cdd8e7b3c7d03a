import "~/server/only";

import { createHash } from "node:crypto";

import {
  assignVariant,
  type Db,
  type ExperimentWithVariants,
  findAssignment,
  findProductionModelVersion,
  listRunningExperiments,
} from "@likewise/db";

export type ViewerVariant = { modelVersionId: string; experimentId: string | null; variantId: string | null };

/** A uniform number in [0, 1) from a salt and a user id: deterministic bucketing. */
export function bucket(salt: string, userId: string, purpose: string): number {
  const h = createHash("sha256").update(`${salt}:${purpose}:${userId}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/**
 * The variant a new user falls into by weight (the stored assignment wins for users already in). Each phase hashes
 * with its own purpose, so a new phase re-randomises everyone instead of repeating the old split.
 */
export function pickVariant(
  exp: Pick<ExperimentWithVariants, "salt" | "variants"> & { phase?: number },
  userId: string,
) {
  const total = exp.variants.reduce((s, v) => s + v.weight, 0);
  if (total <= 0) return null;
  const phase = exp.phase ?? 1;
  let u = bucket(exp.salt, userId, phase === 1 ? "variant" : `variant:phase-${phase}`) * total;
  for (const v of exp.variants) {
    if (u < v.weight) return v;
    u -= v.weight;
  }
  return exp.variants.at(-1) ?? null;
}

/**
 * Every experiment slices one shared population hash space, so experiments on disjoint slices never share a user
 * (mutually exclusive; the database refuses overlapping running slices). The same users sit low in every
 * experiment's space; that is the price of exclusivity without a coordinator.
 */
export const POPULATION_SALT = "likewise-population";

/** Where a user sits in the shared population space, in percent [0, 100). */
export function populationPosition(userId: string): number {
  return bucket(POPULATION_SALT, userId, "population") * 100;
}

/** Whether a user not yet assigned falls into the experiment's population slice [offset, offset + percent). */
export function inPopulation(
  exp: Pick<ExperimentWithVariants, "populationPercent" | "populationOffset">,
  userId: string,
): boolean {
  const at = populationPosition(userId);
  return at >= exp.populationOffset && at < exp.populationOffset + exp.populationPercent;
}

/**
 * The model version whose images this viewer rates: a running experiment's variant (sticky within a phase: the
 * stored assignment wins; a new viewer falls into at most one running experiment's population slice, and into a
 * variant by the experiment's salt and weights), otherwise production. Null when there is no production model yet.
 */
export async function resolveViewerVariant(db: Db, userId: string): Promise<ViewerVariant | null> {
  for (const exp of await listRunningExperiments(db)) {
    const existing = await findAssignment(db, { experimentId: exp.id, userId, phase: exp.phase });
    let variantId = existing?.variantId;
    if (!variantId) {
      if (!inPopulation(exp, userId)) continue;
      const picked = pickVariant(exp, userId);
      if (!picked) continue;
      variantId = (await assignVariant(db, { experimentId: exp.id, userId, variantId: picked.id })).variantId;
    }
    const v = exp.variants.find((x) => x.id === variantId);
    if (v) return { modelVersionId: v.modelVersionId, experimentId: exp.id, variantId: v.id };
  }
  const production = await findProductionModelVersion(db);
  return production ? { modelVersionId: production.id, experimentId: null, variantId: null } : null;
}
