import { z } from "zod";

import { invalidInput } from "~/server/http";
import { withApiKey } from "~/server/public-api";

export const dynamic = "force-dynamic";

const Query = z.object({
  limit: z.coerce.number().int().min(1).max(48).default(12),
  exclude: z
    .string()
    .max(8000)
    .optional()
    .transform((s) => (s ? s.split(",").filter(Boolean) : [])),
});

/** GET /api/v1/feed?limit=12&exclude=<id>,<id> — unrated images for the key's account (each logged as shown). */
export async function GET(req: Request) {
  const url = new URL(req.url);
  const q = Query.safeParse({
    limit: url.searchParams.get("limit") ?? undefined,
    exclude: url.searchParams.get("exclude") ?? undefined,
  });
  if (!q.success) return invalidInput(q.error);
  return withApiKey(req.headers, async (caller) => {
    const page = await caller.feed.page({ limit: q.data.limit, excludeIds: q.data.exclude });
    return {
      images: page.images.map((i) => ({
        id: i.id,
        url: new URL(`/api/images/${i.blobKey}`, url).toString(),
        prompt: i.promptText,
        width: i.width,
        height: i.height,
        modelVersionId: i.modelVersionId,
      })),
    };
  });
}
