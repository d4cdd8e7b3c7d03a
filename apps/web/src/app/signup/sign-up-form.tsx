"use client";

import { useMutation } from "@tanstack/react-query";
import { signIn } from "next-auth/react";
import { useState } from "react";

import { Button, Notice } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { SignUpInput } from "~/lib/schemas";
import { useTRPC } from "~/trpc/react";

export function SignUpForm() {
  const trpc = useTRPC();
  const signUp = useMutation(trpc.auth.signUp.mutationOptions());
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="flex flex-col gap-3"
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const consent = form.get("consent");
        const parsed = SignUpInput.safeParse({
          email: form.get("email"),
          password: form.get("password"),
          name: form.get("name") || undefined,
          trainingConsent: consent === "yes" ? true : consent === "no" ? false : undefined,
        });
        if (!parsed.success) {
          setError(parsed.error.issues[0]?.message ?? "check the form");
          return;
        }
        setError(null);
        try {
          await signUp.mutateAsync(parsed.data);
        } catch (err) {
          setError(errorMessage(err));
          return;
        }
        const res = await signIn("credentials", {
          email: parsed.data.email,
          password: parsed.data.password,
          redirect: false,
        });
        if (!res || res.error) {
          window.location.href = "/signin";
          return;
        }
        window.location.href = "/";
      }}
    >
      <label className="flex flex-col gap-1 text-sm">
        Email
        <input
          name="email"
          type="email"
          required
          autoComplete="email"
          className="rounded border border-zinc-700 bg-zinc-900 px-3 py-2"
        />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        Name (optional)
        <input
          name="name"
          type="text"
          maxLength={200}
          autoComplete="name"
          className="rounded border border-zinc-700 bg-zinc-900 px-3 py-2"
        />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        Password (at least 8 characters)
        <input
          name="password"
          type="password"
          required
          minLength={8}
          autoComplete="new-password"
          className="rounded border border-zinc-700 bg-zinc-900 px-3 py-2"
        />
      </label>
      <fieldset className="rounded border border-zinc-700 p-3 text-sm">
        <legend className="px-1 font-medium">May your votes be used to train the model?</legend>
        <p className="mb-2 text-zinc-400">
          Your likes and dislikes always count as feedback. With consent they also become training labels for
          the next model version. You can change this any time in Settings.
        </p>
        <label className="mr-4 inline-flex items-center gap-2">
          <input type="radio" name="consent" value="yes" required /> Yes, use my votes for training
        </label>
        <label className="inline-flex items-center gap-2">
          <input type="radio" name="consent" value="no" /> No
        </label>
      </fieldset>
      {error ? <Notice tone="error">{error}</Notice> : null}
      <Button type="submit" variant="primary" disabled={signUp.isPending}>
        {signUp.isPending ? "Creating…" : "Create account"}
      </Button>
    </form>
  );
}
