import { and, desc, eq, sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";
import { NotFoundError, withDbErrors } from "../errors.ts";
import { vote } from "../schema/feedback.ts";
import { image } from "../schema/image.ts";
import { mustExist } from "./util.ts";

export type Image = typeof image.$inferSelect;

export type RecordImageInput = {
  promptId: string;
  modelVersionId: string;
  seed: number;
  sampler: string;
  steps: number;
  guidance: number;
  eta?: number;
  /** sha256 (hex) of the PNG in the blob store. */
  blobKey: string;
  width: number;
  height: number;
};

/** Inserts a generated image with its lineage. NOT_FOUND for an unknown prompt/version; INVALID_INPUT for bad settings. */
export async function recordImage(db: DbOrTx, input: RecordImageInput): Promise<Image> {
  return withDbErrors(async () => {
    const [row] = await db.insert(image).values(input).returning();
    return mustExist(row, "image");
  });
}

export async function getImage(db: DbOrTx, imageId: string): Promise<Image> {
  return withDbErrors(async () => {
    const [row] = await db.select().from(image).where(eq(image.id, imageId));
    if (!row) throw new NotFoundError(`image ${imageId} not found`, { table: "image" });
    return row;
  });
}

/** Moderation: hidden images leave every feed and their votes are never claimed for training. */
export async function setImageHidden(
  db: DbOrTx,
  input: { imageId: string; hidden: boolean; actorId?: string | null },
): Promise<Image> {
  return withDbErrors(async () => {
    const [row] = await db
      .update(image)
      .set(
        input.hidden
          ? {
              isHidden: true,
              hiddenAt: sql`coalesce(${image.hiddenAt}, now())`,
              hiddenBy: input.actorId ?? null,
            }
          : { isHidden: false, hiddenAt: null, hiddenBy: null },
      )
      .where(eq(image.id, input.imageId))
      .returning();
    if (!row) throw new NotFoundError(`image ${input.imageId} not found`, { table: "image" });
    return row;
  });
}

/** Feed hot path: visible images of one model version the user has not rated, newest first. */
export async function listUnratedImages(
  db: DbOrTx,
  input: { userId: string; modelVersionId: string; limit?: number },
): Promise<Image[]> {
  return withDbErrors(() =>
    db
      .select()
      .from(image)
      .where(
        and(
          eq(image.modelVersionId, input.modelVersionId),
          eq(image.isHidden, false),
          sql`not exists (select 1 from ${vote} where ${vote.userId} = ${input.userId} and ${vote.imageId} = ${image.id})`,
        ),
      )
      .orderBy(desc(image.createdAt), desc(image.id))
      .limit(input.limit ?? 20),
  );
}
