"use client";

import { signIn } from "next-auth/react";

import { Button } from "@likewise/ui";

export function OAuthButtons({
  providers,
  callbackUrl,
}: {
  providers: { id: string; name: string }[];
  callbackUrl: string;
}) {
  return (
    <div className="mt-6 flex flex-col gap-2 border-t border-zinc-800 pt-4">
      {providers.map((p) => (
        <Button key={p.id} onClick={() => void signIn(p.id, { callbackUrl })}>
          Continue with {p.name}
        </Button>
      ))}
      <p className="text-xs text-zinc-500">
        Accounts created this way do not share votes for training until you allow it in Settings.
      </p>
    </div>
  );
}
