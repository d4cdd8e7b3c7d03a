"use client";

import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { USER_ROLES, type UserRole } from "@likewise/db/enums";
import { Button, Notice } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { useTRPC } from "~/trpc/react";

export function UsersTable({ canEdit, viewerId }: { canEdit: boolean; viewerId: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [search, setSearch] = useState("");
  const list = useInfiniteQuery(
    trpc.admin.users.list.infiniteQueryOptions(
      { search, limit: 50 },
      { getNextPageParam: (l) => l.next ?? undefined },
    ),
  );
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.admin.users.list.pathKey() });
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const done = (text: string) => ({
    onSuccess: () => {
      setMessage({ tone: "success", text });
      void refresh();
    },
    onError: (e: unknown) => setMessage({ tone: "error", text: errorMessage(e) }),
  });
  const setRole = useMutation(trpc.admin.users.setRole.mutationOptions(done("Role changed")));
  const setBlocked = useMutation(trpc.admin.users.setBlocked.mutationOptions(done("Saved")));
  const setExcluded = useMutation(trpc.admin.users.setExcluded.mutationOptions(done("Saved")));

  const users = list.data?.pages.flatMap((p) => p.users) ?? [];
  return (
    <div className="flex flex-col gap-4">
      <input
        type="search"
        aria-label="Search users"
        placeholder="Search by email or name"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
        className="max-w-sm rounded border border-zinc-700 bg-zinc-900 px-3 py-2 text-sm"
      />
      {message ? <Notice tone={message.tone}>{message.text}</Notice> : null}
      {list.error ? <Notice tone="error">{errorMessage(list.error)}</Notice> : null}
      <table className="w-full text-left text-sm" data-testid="users-table">
        <thead className="text-zinc-400">
          <tr>
            <th className="py-1">Email</th>
            <th>Role</th>
            <th>Votes</th>
            <th>Consent</th>
            <th>Training</th>
            <th>Account</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => {
            const self = u.id === viewerId;
            return (
              <tr key={u.id} data-email={u.email} className="border-t border-zinc-800">
                <td className="py-2">{u.email}</td>
                <td>
                  <select
                    aria-label={`Role of ${u.email}`}
                    value={u.role}
                    disabled={!canEdit || self || setRole.isPending}
                    onChange={(e) => setRole.mutate({ userId: u.id, role: e.target.value as UserRole })}
                    className="rounded border border-zinc-700 bg-zinc-900 px-2 py-1"
                  >
                    {USER_ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{u.voteCount}</td>
                <td>{u.trainingConsent ? "yes" : "no"}</td>
                <td>
                  <Button
                    variant="ghost"
                    disabled={!canEdit}
                    onClick={() => setExcluded.mutate({ userId: u.id, excluded: !u.excludedFromTraining })}
                  >
                    {u.excludedFromTraining ? "Excluded · include" : "Exclude votes"}
                  </Button>
                </td>
                <td>
                  <Button
                    variant={u.blockedAt ? "secondary" : "danger"}
                    disabled={!canEdit || self}
                    onClick={() => setBlocked.mutate({ userId: u.id, blocked: !u.blockedAt })}
                  >
                    {u.blockedAt ? "Unblock" : "Block"}
                  </Button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {list.hasNextPage ? (
        <Button onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          Load more
        </Button>
      ) : null}
    </div>
  );
}
