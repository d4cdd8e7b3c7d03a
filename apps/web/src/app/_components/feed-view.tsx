"use client";

import { useMutation } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";

import type { VoteValue } from "@likewise/db/enums";
import { Button, KeyboardHelp, Notice, PixelImage, type Shortcut, VoteButtons } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { imageUrl, newRequestId, shouldRetryVote } from "~/lib/vote-client";
import { useTRPC, useTRPCClient } from "~/trpc/react";

type FeedImage = { id: string; blobKey: string; promptText: string; width: number; height: number };

const SHORTCUTS: Shortcut[] = [
  { keys: ["L", "→"], action: "Like" },
  { keys: ["D", "←"], action: "Dislike" },
  { keys: ["S", "↓"], action: "Skip (no vote)" },
  { keys: ["U", "Z"], action: "Undo the last vote" },
  { keys: ["?"], action: "Show or hide this help" },
];

const MAX_EXCLUDED = 200;

/** The single-image rating view: optimistic votes (rolled back on error), skip, undo, keyboard shortcuts. */
export function FeedView() {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const [current, setCurrent] = useState<FeedImage | null | undefined>(undefined);
  const [empty, setEmpty] = useState<"no-model" | "done" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [showHelp, setShowHelp] = useState(true);
  const [saved, setSaved] = useState(0);
  const excluded = useRef<string[]>([]);
  const history = useRef<{ image: FeedImage; value: VoteValue }[]>([]);
  const pending = useRef(new Map<string, Promise<void>>());
  const [canUndo, setCanUndo] = useState(false);
  const vote = useMutation(trpc.feedback.vote.mutationOptions({ retry: shouldRetryVote, retryDelay: 500 }));

  // Bumped by every load and every rollback: a slower, older answer never replaces what is on screen now.
  const loadSeq = useRef(0);
  const loadNext = useCallback(async () => {
    const seq = ++loadSeq.current;
    setCurrent(undefined);
    try {
      const r = await client.feed.next.query({ excludeIds: excluded.current.slice(-MAX_EXCLUDED) });
      if (seq !== loadSeq.current) return;
      setEmpty(r.image ? null : r.modelVersionId ? "done" : "no-model");
      setCurrent(r.image);
    } catch (e) {
      if (seq !== loadSeq.current) return;
      setError(errorMessage(e));
      setCurrent(null);
    }
  }, [client]);

  const show = (image: FeedImage | null) => {
    loadSeq.current++;
    setCurrent(image);
  };

  useEffect(() => {
    void loadNext();
  }, [loadNext]);

  const exclude = (id: string) => {
    excluded.current = [...excluded.current.filter((x) => x !== id), id].slice(-MAX_EXCLUDED);
  };

  const rate = useCallback(
    (value: VoteValue) => {
      const image = current;
      if (!image) return;
      history.current.push({ image, value });
      setCanUndo(true);
      exclude(image.id);
      void loadNext();
      const done = vote.mutateAsync({ imageId: image.id, value, requestId: newRequestId() }).then(
        () => setSaved((n) => n + 1),
        (e: unknown) => {
          // Roll back: the vote is not stored, so the image comes back.
          history.current = history.current.filter((h) => h.image.id !== image.id);
          setCanUndo(history.current.length > 0);
          excluded.current = excluded.current.filter((x) => x !== image.id);
          setError(`Your vote was not saved: ${errorMessage(e)}`);
          show(image);
        },
      );
      pending.current.set(image.id, done);
      void done.finally(() => {
        if (pending.current.get(image.id) === done) pending.current.delete(image.id);
      });
    },
    [current, loadNext, vote],
  );

  const skip = useCallback(() => {
    if (!current) return;
    exclude(current.id);
    void loadNext();
  }, [current, loadNext]);

  const undo = useCallback(async () => {
    const last = history.current.at(-1);
    if (!last) return;
    // The clear must reach the server after the vote it undoes.
    await pending.current.get(last.image.id);
    if (history.current.at(-1) !== last) return; // that vote failed and was rolled back meanwhile
    history.current.pop();
    setCanUndo(history.current.length > 0);
    const previous = current;
    show(last.image);
    try {
      await vote.mutateAsync({ imageId: last.image.id, value: null, requestId: newRequestId() });
      excluded.current = excluded.current.filter((x) => x !== last.image.id);
      setSaved((n) => Math.max(0, n - 1));
    } catch (e) {
      history.current.push(last);
      setCanUndo(true);
      setError(`Undo failed: ${errorMessage(e)}`);
      show(previous ?? null);
    }
  }, [current, vote]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLElement && e.target.closest("input, textarea, select, [contenteditable]"))
        return;
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      const k = e.key;
      if (k === "l" || k === "L" || k === "ArrowRight") rate("like");
      else if (k === "d" || k === "D" || k === "ArrowLeft") rate("dislike");
      else if (k === "s" || k === "S" || k === "ArrowDown") skip();
      else if (k === "u" || k === "U" || k === "z" || k === "Z") void undo();
      else if (k === "?") setShowHelp((v) => !v);
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [rate, skip, undo]);

  return (
    <div className="grid gap-6 md:grid-cols-[1fr_280px]">
      <section
        aria-label="Image to rate"
        className="flex flex-col items-center gap-4"
        data-testid="feed"
        data-image-id={current?.id ?? ""}
      >
        {current ? (
          <>
            <PixelImage
              src={imageUrl(current.blobKey)}
              alt={current.promptText}
              size={384}
              className="border border-zinc-800"
            />
            <p className="text-center text-lg" data-testid="prompt-text">
              “{current.promptText}”
            </p>
            <div className="flex flex-wrap items-center justify-center gap-3">
              <VoteButtons value={null} onChange={(v) => v && rate(v)} />
              <Button onClick={skip} title="Skip (S)">
                Skip
              </Button>
            </div>
          </>
        ) : current === undefined ? (
          <div className="flex h-[384px] w-[384px] items-center justify-center rounded-md border border-zinc-800 text-zinc-500">
            Loading…
          </div>
        ) : (
          <Notice>
            {empty === "no-model"
              ? "No model is serving yet. Come back once an administrator has published one."
              : "You have rated every image for now. New images are generated continuously — check back soon, or submit a prompt."}
          </Notice>
        )}
        <div className="flex items-center gap-3 text-sm text-zinc-400">
          <Button variant="ghost" onClick={() => void undo()} disabled={!canUndo} title="Undo (U)">
            ↶ Undo last vote
          </Button>
          <span data-testid="vote-status">
            {vote.isPending ? "Saving…" : `${saved} vote${saved === 1 ? "" : "s"} saved this session`}
          </span>
        </div>
        {error ? (
          <Notice tone="error">
            {error}{" "}
            <button type="button" className="underline" onClick={() => setError(null)}>
              Dismiss
            </button>
          </Notice>
        ) : null}
      </section>
      <aside className="flex flex-col gap-3">
        {showHelp ? (
          <KeyboardHelp shortcuts={SHORTCUTS} />
        ) : (
          <p className="text-sm text-zinc-500">Press ? for keyboard shortcuts.</p>
        )}
      </aside>
    </div>
  );
}
