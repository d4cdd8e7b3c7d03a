"use client";

import { useInfiniteQuery, useMutation } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";

import type { VoteValue } from "@likewise/db/enums";
import { Notice, PixelImage, VoteButtons } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { imageUrl, newRequestId, shouldRetryVote } from "~/lib/vote-client";
import { useTRPC } from "~/trpc/react";

/** Unrated images of the viewer's variant as a grid; more load when the sentinel scrolls into view. */
export function FeedGrid() {
  const trpc = useTRPC();
  const pages = useInfiniteQuery(
    trpc.feed.page.infiniteQueryOptions(
      { limit: 24 },
      {
        getNextPageParam: (last) => last.next ?? undefined,
        staleTime: Infinity,
        refetchOnWindowFocus: false,
      },
    ),
  );
  const [votes, setVotes] = useState<Record<string, VoteValue | null>>({});
  const [error, setError] = useState<string | null>(null);
  const vote = useMutation(trpc.feedback.vote.mutationOptions({ retry: shouldRetryVote, retryDelay: 500 }));
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = pages;

  useEffect(() => {
    const el = sentinel.current;
    if (!el) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && hasNextPage && !isFetchingNextPage) void fetchNextPage();
    });
    io.observe(el);
    return () => io.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  const images = pages.data?.pages.flatMap((p) => p.images) ?? [];
  const onVote = (imageId: string, value: VoteValue | null) => {
    const before = votes[imageId] ?? null;
    setVotes((v) => ({ ...v, [imageId]: value }));
    vote.mutate(
      { imageId, value, requestId: newRequestId() },
      {
        onError: (e) => {
          setVotes((v) => ({ ...v, [imageId]: before }));
          setError(`Your vote was not saved: ${errorMessage(e)}`);
        },
      },
    );
  };

  if (pages.isPending) return <p className="text-zinc-400">Loading…</p>;
  if (pages.error) return <Notice tone="error">{errorMessage(pages.error)}</Notice>;
  return (
    <>
      {error ? (
        <Notice tone="error" className="mb-4">
          {error}
        </Notice>
      ) : null}
      {images.length === 0 ? <Notice>Nothing left to rate for now.</Notice> : null}
      <ul className="grid grid-cols-2 gap-4 sm:grid-cols-3 lg:grid-cols-4" data-testid="grid">
        {images.map((img) => (
          <li
            key={img.id}
            data-image-id={img.id}
            className="flex flex-col items-center gap-2 rounded-lg border border-zinc-800 p-3"
          >
            <PixelImage src={imageUrl(img.blobKey)} alt={img.promptText} size={192} />
            <p className="line-clamp-2 text-center text-sm text-zinc-300">{img.promptText}</p>
            <VoteButtons value={votes[img.id] ?? null} onChange={(v) => onVote(img.id, v)} />
          </li>
        ))}
      </ul>
      <div ref={sentinel} className="h-10" aria-hidden="true" />
      {isFetchingNextPage ? <p className="text-center text-zinc-400">Loading more…</p> : null}
      {!hasNextPage && images.length > 0 ? (
        <p className="text-center text-sm text-zinc-500">That is everything for now.</p>
      ) : null}
    </>
  );
}
