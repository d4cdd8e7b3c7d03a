"use client";

import { signIn } from "next-auth/react";
import Link from "next/link";
import { useState } from "react";

import { Button, Notice } from "@likewise/ui";

function formText(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === "string" ? v : "";
}

export function SignInForm({ callbackUrl }: { callbackUrl: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="flex flex-col gap-3"
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        setBusy(true);
        setError(null);
        const res = await signIn("credentials", {
          email: formText(form, "email"),
          password: formText(form, "password"),
          redirect: false,
        });
        setBusy(false);
        if (!res || res.error) {
          setError(res?.error && res.error !== "CredentialsSignin" ? res.error : "wrong email or password");
          return;
        }
        window.location.href = callbackUrl;
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
        Password
        <input
          name="password"
          type="password"
          required
          autoComplete="current-password"
          className="rounded border border-zinc-700 bg-zinc-900 px-3 py-2"
        />
      </label>
      {error ? <Notice tone="error">{error}</Notice> : null}
      <Button type="submit" variant="primary" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </Button>
      <p className="text-sm text-zinc-400">
        No account?{" "}
        <Link href="/signup" className="text-indigo-300 underline">
          Sign up
        </Link>
      </p>
    </form>
  );
}
