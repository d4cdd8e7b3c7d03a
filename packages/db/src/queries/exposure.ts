import type { DbOrTx } from "../client.ts";
import { withDbErrors } from "../errors.ts";
import { exposure } from "../schema/feedback.ts";
import { mustExist } from "./util.ts";

export type Exposure = typeof exposure.$inferSelect;

/**
 * Logs that an image was actually shown. Experiment and variant come together (INVALID_INPUT otherwise) and the
 * variant must belong to the experiment (NOT_FOUND otherwise).
 */
export async function recordExposure(
  db: DbOrTx,
  input: { userId: string; imageId: string; experimentId?: string | null; variantId?: string | null },
): Promise<Exposure> {
  return withDbErrors(async () => {
    const [row] = await db
      .insert(exposure)
      .values({
        userId: input.userId,
        imageId: input.imageId,
        experimentId: input.experimentId ?? null,
        variantId: input.variantId ?? null,
      })
      .returning();
    return mustExist(row, "exposure");
  });
}
