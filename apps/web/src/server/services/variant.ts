import "server-only";

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

/** The variant a new user falls into by weight (the stored assignment wins for users already in). */
export function pickVariant(exp: Pick<ExperimentWithVariants, "salt" | "variants">, userId: string) {
  const total = exp.variants.reduce((s, v) => s + v.weight, 0);
  if (total <= 0) return null;
  let u = bucket(exp.salt, userId, "variant") * total;
  for (const v of exp.variants) {
    if (u < v.weight) return v;
    u -= v.weight;
  }
  return exp.variants.at(-1) ?? null;
}

/** Whether a user not yet assigned falls into the experiment's target population. */
export function inPopulation(
  exp: Pick<ExperimentWithVariants, "salt" | "populationPercent">,
  userId: string,
): boolean {
  return bucket(exp.salt, userId, "population") * 100 < exp.populationPercent;
}

/**
 * The model version whose images this viewer rates: a running experiment's variant (sticky: the stored assignment
 * wins; a new viewer is bucketed by the experiment's salt into its population and a variant by weight), otherwise
 * production. Null when there is no production model yet.
 */
export async function resolveViewerVariant(db: Db, userId: string): Promise<ViewerVariant | null> {
  for (const exp of await listRunningExperiments(db)) {
    const existing = await findAssignment(db, { experimentId: exp.id, userId });
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
