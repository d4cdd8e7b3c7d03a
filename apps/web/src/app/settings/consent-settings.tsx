"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { Button, Notice } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { useTRPC } from "~/trpc/react";

export function ConsentSettings() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const me = useQuery(trpc.account.me.queryOptions());
  const setConsent = useMutation(
    trpc.account.setConsent.mutationOptions({
      onSuccess: (data) => qc.setQueryData(trpc.account.me.queryKey(), data),
    }),
  );
  if (!me.data) return <p className="text-zinc-400">Loading…</p>;
  const consent = me.data.trainingConsent;
  return (
    <section className="flex flex-col gap-3 rounded-lg border border-zinc-800 p-4">
      <h2 className="font-semibold">Training consent</h2>
      <p className="text-sm text-zinc-400">
        With consent, your votes become training labels for future model versions. Labels already used by a
        finished round stay in that round; revoking applies to every later round.
      </p>
      <p data-testid="consent-state">
        Your votes {consent ? "may" : "may not"} be used for training
        {me.data.trainingConsentChangedAt
          ? ` (since ${me.data.trainingConsentChangedAt.toLocaleString()})`
          : ""}
        .
      </p>
      <Button
        variant={consent ? "secondary" : "primary"}
        disabled={setConsent.isPending}
        onClick={() => setConsent.mutate({ consent: !consent })}
      >
        {consent ? "Revoke training consent" : "Allow training on my votes"}
      </Button>
      {setConsent.error ? <Notice tone="error">{errorMessage(setConsent.error)}</Notice> : null}
    </section>
  );
}
