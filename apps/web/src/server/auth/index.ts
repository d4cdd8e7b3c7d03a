import "~/server/only";

import { getServerSession } from "next-auth";
import { redirect } from "next/navigation";
import { cache } from "react";

import type { UserRole } from "@likewise/db/enums";

import { roleAtLeast } from "~/lib/roles";

import type { Viewer } from "../api/context";
import { getDb } from "../db";
import { getAuthOptions } from "./config";
import { viewerFromUserId } from "./viewer";

export { viewerFromUserId };

/** The current viewer for server components and route handlers (once per request). */
export const getViewer = cache(async (): Promise<Viewer | null> => {
  const session = await getServerSession(getAuthOptions());
  return viewerFromUserId(getDb().db, session?.user.id);
});

export function hasRole(viewer: Viewer | null, min: UserRole): boolean {
  return !!viewer && roleAtLeast(viewer.role, min);
}

/** Page guard (UX only: every procedure checks again on the server). */
export async function requireViewer(min: UserRole = "rater", from = "/"): Promise<Viewer> {
  const viewer = await getViewer();
  if (!viewer) redirect(`/signin?callbackUrl=${encodeURIComponent(from)}`);
  if (!hasRole(viewer, min)) redirect(`/forbidden?need=${min}`);
  return viewer;
}
