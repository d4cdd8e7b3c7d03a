"use client";

import { useInfiniteQuery, useMutation } from "@tanstack/react-query";
import { useState } from "react";

import type { VoteValue } from "@likewise/db/enums";
import { Button, Notice, PixelImage, VoteButtons } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { imageUrl, newRequestId, shouldRetryVote } from "~/lib/vote-client";
import { useTRPC } from "~/trpc/react";

/** The viewer's current votes; each can be changed or cleared (optimistically, rolled back on error). */
export function MyVotes() {
  const trpc = useTRPC();
  const list = useInfiniteQuery(
    trpc.feedback.mine.infiniteQueryOptions(
      { limit: 30 },
      { getNextPageParam: (last) => last.nextBeforeLabelId ?? undefined },
    ),
  );
  const [overrides, setOverrides] = useState<Record<string, VoteValue | null>>({});
  const [error, setError] = useState<string | null>(null);
  const vote = useMutation(trpc.feedback.vote.mutationOptions({ retry: shouldRetryVote, retryDelay: 500 }));

  const change = (imageId: string, before: VoteValue | null, value: VoteValue | null) => {
    setOverrides((o) => ({ ...o, [imageId]: value }));
    vote.mutate(
      { imageId, value, requestId: newRequestId() },
      {
        onError: (e) => {
          setOverrides((o) => ({ ...o, [imageId]: before }));
          setError(`Not saved: ${errorMessage(e)}`);
        },
      },
    );
  };

  if (list.isPending) return <p className="text-zinc-400">Loading…</p>;
  if (list.error) return <Notice tone="error">{errorMessage(list.error)}</Notice>;
  const votes = list.data.pages.flatMap((p) => p.votes);
  return (
    <>
      {error ? (
        <Notice tone="error" className="mb-4">
          {error}
        </Notice>
      ) : null}
      {votes.length === 0 ? <Notice>You have not voted yet.</Notice> : null}
      <ul className="flex flex-col gap-3" data-testid="my-votes">
        {votes.map((v) => {
          const value = v.imageId in overrides ? (overrides[v.imageId] ?? null) : v.value;
          return (
            <li
              key={v.imageId}
              data-image-id={v.imageId}
              className="flex items-center gap-4 rounded-lg border border-zinc-800 p-3"
            >
              <PixelImage src={imageUrl(v.blobKey)} alt={v.promptText} size={96} />
              <div className="flex flex-1 flex-col gap-1">
                <p className="text-zinc-200">{v.promptText}</p>
                <p className="text-xs text-zinc-500" data-testid="vote-value">
                  {value === null ? "cleared" : value === "like" ? "liked" : "disliked"}
                  {v.isHidden ? " · image hidden by moderators" : ""}
                </p>
              </div>
              <VoteButtons value={value} onChange={(next) => change(v.imageId, value, next)} />
              <Button
                variant="ghost"
                disabled={value === null}
                onClick={() => change(v.imageId, value, null)}
              >
                Clear
              </Button>
            </li>
          );
        })}
      </ul>
      {list.hasNextPage ? (
        <Button className="mt-4" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          Load more
        </Button>
      ) : null}
    </>
  );
}
