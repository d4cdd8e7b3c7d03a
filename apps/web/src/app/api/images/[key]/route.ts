import { isBlobKey } from "@likewise/serving";

import { getBlobStore } from "~/server/blobs";
import { jsonError } from "~/server/http";

export const dynamic = "force-dynamic";

/** PNG bytes by content hash. Keys are sha256 of the bytes, so a response never changes: cache it forever. */
export async function GET(_req: Request, ctx: { params: Promise<{ key: string }> }) {
  const { key } = await ctx.params;
  if (!isBlobKey(key))
    return jsonError(400, "BAD_REQUEST", "an image key is 64 lowercase hex digits (sha256)");
  const bytes = await getBlobStore().get(key);
  if (!bytes) return jsonError(404, "NOT_FOUND", `no image ${key}`);
  return new Response(Buffer.from(bytes), {
    headers: {
      "content-type": "image/png",
      "content-length": String(bytes.byteLength),
      "cache-control": "public, max-age=31536000, immutable",
      etag: `"${key}"`,
      "x-content-type-options": "nosniff",
    },
  });
}
