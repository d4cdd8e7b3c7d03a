import "~/server/only";

import { getServerSession } from "next-auth";

import { viewerFromUserId } from "../auth/viewer";
import { getAuthOptions } from "../auth/config";
import { getDb } from "../db";
import { clientIp, getLimits, getServices } from "../runtime";
import type { TrpcContext } from "./context";

/** Context of an HTTP tRPC call: the session cookie's user, re-read from the database. */
export async function createRequestContext(req: Request): Promise<TrpcContext> {
  const { db } = getDb();
  const session = await getServerSession(getAuthOptions());
  return {
    db,
    viewer: await viewerFromUserId(db, session?.user.id),
    ip: clientIp(req.headers),
    limits: getLimits(),
    services: getServices(),
  };
}
