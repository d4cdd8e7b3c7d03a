import "./globals.css";

import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";

import { getViewer, hasRole } from "~/server/auth";
import { TRPCReactProvider } from "~/trpc/react";

import { SignOutButton } from "./_components/sign-out-button";

export const metadata: Metadata = {
  title: "Likewise",
  description: "Rate generated images; every vote aligns the model.",
};

export const dynamic = "force-dynamic";

export default async function RootLayout({ children }: { children: ReactNode }) {
  const viewer = await getViewer().catch(() => null);
  return (
    <html lang="en">
      <body className="min-h-screen font-sans antialiased">
        <header className="border-b border-zinc-800 bg-zinc-950/80">
          <nav aria-label="Main" className="mx-auto flex max-w-6xl items-center gap-4 px-4 py-3 text-sm">
            <Link href="/" className="text-lg font-bold text-zinc-50">
              Likewise
            </Link>
            {viewer ? (
              <>
                <Link href="/" className="text-zinc-300 hover:text-white">
                  Rate
                </Link>
                <Link href="/grid" className="text-zinc-300 hover:text-white">
                  Grid
                </Link>
                <Link href="/votes" className="text-zinc-300 hover:text-white">
                  My votes
                </Link>
                <Link href="/prompts" className="text-zinc-300 hover:text-white">
                  Prompts
                </Link>
                <Link href="/settings" className="text-zinc-300 hover:text-white">
                  Settings
                </Link>
                {hasRole(viewer, "analyst") ? (
                  <Link href="/admin" className="text-amber-300 hover:text-amber-200">
                    Admin
                  </Link>
                ) : null}
                <span className="ml-auto text-zinc-500" data-testid="viewer">
                  {viewer.email} · {viewer.role}
                </span>
                <SignOutButton />
              </>
            ) : (
              <>
                <Link href="/signin" className="ml-auto text-zinc-300 hover:text-white">
                  Sign in
                </Link>
                <Link href="/signup" className="text-zinc-300 hover:text-white">
                  Sign up
                </Link>
              </>
            )}
          </nav>
        </header>
        <TRPCReactProvider>
          <main className="mx-auto max-w-6xl px-4 py-6">{children}</main>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
