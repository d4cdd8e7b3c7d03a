import "~/server/only";

import { type BlobStore, LocalBlobStore } from "@likewise/serving";

import { env } from "~/env";

const g = globalThis as unknown as { __likewiseBlobs?: BlobStore };

/** The installation's blob store ($LIKEWISE_HOME/blobs), shared with the trainer that writes the images. */
export function getBlobStore(): BlobStore {
  return (g.__likewiseBlobs ??= LocalBlobStore.atHome(env.home));
}
