"use client";

import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { Button, Notice, PixelImage } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { imageUrl } from "~/lib/vote-client";
import { useTRPC } from "~/trpc/react";

export function ModerationGrid({ canEdit }: { canEdit: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [hiddenOnly, setHiddenOnly] = useState(false);
  const list = useInfiniteQuery(
    trpc.admin.moderation.images.infiniteQueryOptions(
      { limit: 48, hiddenOnly },
      { getNextPageParam: (l) => l.next ?? undefined },
    ),
  );
  const setHidden = useMutation(
    trpc.admin.moderation.setHidden.mutationOptions({
      onSuccess: () => qc.invalidateQueries({ queryKey: trpc.admin.moderation.images.pathKey() }),
    }),
  );
  const images = list.data?.pages.flatMap((p) => p.images) ?? [];
  return (
    <div className="flex flex-col gap-4">
      <label className="inline-flex items-center gap-2 text-sm">
        <input type="checkbox" checked={hiddenOnly} onChange={(e) => setHiddenOnly(e.target.checked)} />{" "}
        Hidden only
      </label>
      {setHidden.error ? <Notice tone="error">{errorMessage(setHidden.error)}</Notice> : null}
      {list.error ? <Notice tone="error">{errorMessage(list.error)}</Notice> : null}
      <ul className="grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-4" data-testid="moderation-grid">
        {images.map((img) => (
          <li
            key={img.id}
            data-image-id={img.id}
            data-hidden={img.isHidden}
            className="flex flex-col items-center gap-2 rounded-lg border border-zinc-800 p-3"
          >
            <PixelImage
              src={imageUrl(img.blobKey)}
              alt={img.promptText}
              size={128}
              className={img.isHidden ? "opacity-30" : undefined}
            />
            <p className="line-clamp-2 text-center text-xs text-zinc-300">{img.promptText}</p>
            <p className="text-xs text-zinc-500">
              {img.likes} likes · {img.dislikes} dislikes · {img.modelVersionId}
            </p>
            <Button
              variant={img.isHidden ? "secondary" : "danger"}
              disabled={!canEdit || setHidden.isPending}
              onClick={() => setHidden.mutate({ imageId: img.id, hidden: !img.isHidden })}
            >
              {img.isHidden ? "Unhide" : "Hide"}
            </Button>
          </li>
        ))}
      </ul>
      {list.hasNextPage ? (
        <Button onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          Load more
        </Button>
      ) : null}
    </div>
  );
}
