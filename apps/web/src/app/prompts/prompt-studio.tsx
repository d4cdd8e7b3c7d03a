"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { Button, Notice, PixelImage, ProgressBar } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { PROMPT_MAX_CHARS } from "~/lib/schemas";
import { imageUrl } from "~/lib/vote-client";
import { useTRPC } from "~/trpc/react";

/** Submit a prompt, follow its generation (queued → running with progress → images), and see earlier prompts. */
export function PromptStudio() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [text, setText] = useState("");
  const [requestId, setRequestId] = useState<string | null>(null);
  const vocabulary = useQuery(trpc.prompts.vocabulary.queryOptions());
  const mine = useQuery(trpc.prompts.mine.queryOptions());
  const submit = useMutation(
    trpc.prompts.submit.mutationOptions({
      onSuccess: (r) => {
        setRequestId(r.requestId);
        setText("");
        void qc.invalidateQueries({ queryKey: trpc.prompts.mine.queryKey() });
      },
    }),
  );
  const generation = useQuery({
    ...trpc.prompts.generation.queryOptions({
      requestId: requestId ?? "00000000-0000-0000-0000-000000000000",
    }),
    enabled: requestId !== null,
    refetchInterval: (q) =>
      q.state.data && (q.state.data.status === "done" || q.state.data.status === "failed") ? false : 1000,
  });
  const g = generation.data;
  const finished = g?.status === "done" || g?.status === "failed";
  useEffect(() => {
    // the prompt list counts images: refresh it once the generation has stored them
    if (finished) void qc.invalidateQueries({ queryKey: trpc.prompts.mine.queryKey() });
  }, [finished, qc, trpc]);

  return (
    <div className="grid gap-6 md:grid-cols-[1fr_300px]">
      <section className="flex flex-col gap-4">
        <form
          className="flex flex-col gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            submit.mutate({ text });
          }}
        >
          <label htmlFor="prompt" className="text-sm font-medium">
            Describe an image
          </label>
          <div className="flex gap-2">
            <input
              id="prompt"
              name="prompt"
              value={text}
              maxLength={PROMPT_MAX_CHARS}
              onChange={(e) => setText(e.target.value)}
              placeholder="a large red circle on a blue background"
              className="flex-1 rounded border border-zinc-700 bg-zinc-900 px-3 py-2"
            />
            <Button type="submit" variant="primary" disabled={submit.isPending || text.trim() === ""}>
              Generate
            </Button>
          </div>
          {submit.error ? <Notice tone="error">{errorMessage(submit.error)}</Notice> : null}
        </form>

        {g ? (
          <section
            aria-label="Generation"
            className="flex flex-col gap-3 rounded-lg border border-zinc-800 p-4"
            data-testid="generation"
          >
            <p className="text-sm">
              Status: <strong data-testid="generation-status">{g.status}</strong>
            </p>
            {g.status === "queued" ? <p className="text-sm text-zinc-400">Waiting for a worker…</p> : null}
            {g.status === "running" ? <ProgressBar value={g.progress} label="Generation progress" /> : null}
            {g.error ? <Notice tone="error">{g.error}</Notice> : null}
            {g.images.length > 0 ? (
              <ul className="flex flex-wrap gap-3" data-testid="generation-images">
                {g.images.map((img) => (
                  <li key={img.id}>
                    <PixelImage src={imageUrl(img.blobKey)} alt={`seed ${img.seed}`} size={160} />
                  </li>
                ))}
              </ul>
            ) : null}
          </section>
        ) : null}

        <section aria-label="Your prompts">
          <h2 className="mb-2 font-semibold">Your prompts</h2>
          {mine.data && mine.data.length === 0 ? <p className="text-sm text-zinc-500">None yet.</p> : null}
          <ul className="flex flex-col gap-1 text-sm" data-testid="my-prompts">
            {mine.data?.map((p) => (
              <li key={p.id} className="flex justify-between rounded border border-zinc-800 px-3 py-2">
                <span>{p.text}</span>
                <span className="text-zinc-500">
                  {p.imageCount} image{p.imageCount === 1 ? "" : "s"}
                </span>
              </li>
            ))}
          </ul>
        </section>
      </section>
      <aside className="rounded-lg border border-zinc-800 p-4 text-sm">
        <h2 className="mb-2 font-semibold">Words the model knows</h2>
        {vocabulary.data ? (
          <>
            <p className="mb-2 text-zinc-400">
              Up to {vocabulary.data.maxWords} words; other words are reported, not dropped.
            </p>
            <p className="text-zinc-300">{vocabulary.data.words.join(" · ")}</p>
          </>
        ) : vocabulary.isPending ? (
          <p className="text-zinc-500">Loading…</p>
        ) : (
          <p className="text-zinc-500">No model is serving yet.</p>
        )}
      </aside>
    </div>
  );
}
