import "~/server/only";

import { type Db, getUser, NotFoundError } from "@likewise/db";

import type { Viewer } from "../api/context";

/**
 * The JWT names the user; the database decides what they may do now: role changes apply on the next request and
 * a blocked (or deleted) account is treated as signed out.
 */
export async function viewerFromUserId(db: Db, userId: string | undefined): Promise<Viewer | null> {
  if (!userId) return null;
  try {
    const user = await getUser(db, userId);
    return user.blockedAt ? null : { id: user.id, email: user.email, role: user.role };
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}
