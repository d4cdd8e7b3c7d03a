"use client";

import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { Button, Notice } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { useTRPC } from "~/trpc/react";

export function PromptPool({ canEdit }: { canEdit: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [text, setText] = useState("");
  const list = useInfiniteQuery(
    trpc.admin.prompts.list.infiniteQueryOptions(
      { limit: 50 },
      { getNextPageParam: (l) => l.next ?? undefined },
    ),
  );
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.admin.prompts.list.pathKey() });
  const add = useMutation(
    trpc.admin.prompts.add.mutationOptions({
      onSuccess: () => {
        setText("");
        void refresh();
      },
    }),
  );
  const setActive = useMutation(
    trpc.admin.prompts.setActive.mutationOptions({ onSuccess: () => void refresh() }),
  );
  const importList = useMutation(
    trpc.admin.prompts.import.mutationOptions({ onSuccess: () => void refresh() }),
  );
  const prompts = list.data?.pages.flatMap((p) => p.prompts) ?? [];

  return (
    <div className="flex flex-col gap-6">
      {canEdit ? (
        <section className="grid gap-4 md:grid-cols-2">
          <form
            className="flex flex-col gap-2 rounded-lg border border-zinc-800 p-4"
            onSubmit={(e) => {
              e.preventDefault();
              add.mutate({ text });
            }}
          >
            <label htmlFor="new-prompt" className="text-sm font-medium">
              Add a prompt
            </label>
            <input
              id="new-prompt"
              value={text}
              onChange={(e) => setText(e.target.value)}
              className="rounded border border-zinc-700 bg-zinc-900 px-3 py-2"
            />
            <Button type="submit" variant="primary" disabled={add.isPending || !text.trim()}>
              Add
            </Button>
            {add.error ? <Notice tone="error">{errorMessage(add.error)}</Notice> : null}
          </form>
          <div className="flex flex-col gap-2 rounded-lg border border-zinc-800 p-4">
            <label htmlFor="import-file" className="text-sm font-medium">
              Import a text file (one prompt per line; # comments)
            </label>
            <input
              id="import-file"
              type="file"
              accept=".txt,text/plain"
              onChange={async (e) => {
                const file = e.target.files?.[0];
                if (!file) return;
                if (file.size > 100_000) {
                  importList.reset();
                  alert("The file is larger than 100 kB; split it.");
                  return;
                }
                importList.mutate({ text: await file.text() });
                e.target.value = "";
              }}
              className="text-sm"
            />
            {importList.error ? <Notice tone="error">{errorMessage(importList.error)}</Notice> : null}
            {importList.data ? (
              <div data-testid="import-result" className="text-sm">
                <p>
                  {importList.data.added} added · {importList.data.duplicates} already there ·{" "}
                  {importList.data.errors} with errors
                </p>
                <ul className="mt-1 max-h-48 overflow-auto text-xs">
                  {importList.data.results
                    .filter((r) => r.status !== "added")
                    .map((r) => (
                      <li key={r.line} className={r.status === "error" ? "text-rose-300" : "text-zinc-400"}>
                        line {r.line}: “{r.text}” — {r.message}
                      </li>
                    ))}
                </ul>
              </div>
            ) : null}
          </div>
        </section>
      ) : null}
      {setActive.error ? <Notice tone="error">{errorMessage(setActive.error)}</Notice> : null}
      <table className="w-full text-left text-sm">
        <thead className="text-zinc-400">
          <tr>
            <th className="py-1">Prompt</th>
            <th>Source</th>
            <th>Images</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {prompts.map((p) => (
            <tr key={p.id} className="border-t border-zinc-800">
              <td className="py-2">{p.text}</td>
              <td>{p.source === "user" ? `user (${p.submittedByEmail ?? "deleted"})` : "curated"}</td>
              <td>{p.imageCount}</td>
              <td>
                <Button
                  variant="ghost"
                  disabled={!canEdit}
                  onClick={() => setActive.mutate({ promptId: p.id, isActive: !p.isActive })}
                >
                  {p.isActive ? "Active · deactivate" : "Inactive · activate"}
                </Button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.hasNextPage ? <Button onClick={() => void list.fetchNextPage()}>Load more</Button> : null}
    </div>
  );
}
