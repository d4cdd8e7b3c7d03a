"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { Button, Notice } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { useTRPC } from "~/trpc/react";

export function ApiKeys() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const keys = useQuery(trpc.admin.apiKeys.list.queryOptions());
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.admin.apiKeys.list.queryKey() });
  const create = useMutation(trpc.admin.apiKeys.create.mutationOptions({ onSuccess: () => void refresh() }));
  const revoke = useMutation(trpc.admin.apiKeys.revoke.mutationOptions({ onSuccess: () => void refresh() }));
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  return (
    <div className="flex flex-col gap-4">
      <form
        className="flex flex-wrap items-end gap-2 rounded-lg border border-zinc-800 p-4"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ name, userEmail: email });
        }}
      >
        <label className="flex flex-col text-sm">
          Name
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            maxLength={100}
            className="rounded border border-zinc-700 bg-zinc-900 px-3 py-2"
          />
        </label>
        <label className="flex flex-col text-sm">
          Acts as (account email)
          <input
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
            className="rounded border border-zinc-700 bg-zinc-900 px-3 py-2"
          />
        </label>
        <Button type="submit" variant="primary" disabled={create.isPending}>
          Issue key
        </Button>
      </form>
      {create.error ? <Notice tone="error">{errorMessage(create.error)}</Notice> : null}
      {create.data ? (
        <Notice tone="success">
          Copy this key now; it is not shown again:{" "}
          <code data-testid="new-api-key" className="break-all">
            {create.data.key}
          </code>
        </Notice>
      ) : null}
      {revoke.error ? <Notice tone="error">{errorMessage(revoke.error)}</Notice> : null}
      <table className="w-full text-left text-sm">
        <thead className="text-zinc-400">
          <tr>
            <th className="py-1">Name</th>
            <th>Key</th>
            <th>Acts as</th>
            <th>Last used</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.data?.map((k) => (
            <tr key={k.id} className="border-t border-zinc-800">
              <td className="py-2">{k.name}</td>
              <td className="font-mono">{k.prefix}…</td>
              <td>{k.userEmail}</td>
              <td>{k.lastUsedAt ? k.lastUsedAt.toLocaleString() : "never"}</td>
              <td>
                {k.revokedAt ? (
                  <span className="text-zinc-500">revoked</span>
                ) : (
                  <Button variant="danger" onClick={() => revoke.mutate({ id: k.id })}>
                    Revoke
                  </Button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
