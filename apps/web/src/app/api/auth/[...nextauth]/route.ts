import NextAuth from "next-auth";
import type { NextRequest } from "next/server";

import { getAuthOptions } from "~/server/auth/config";

export const dynamic = "force-dynamic";

type RouteContext = { params: Promise<{ nextauth: string[] }> };

// Options are built on the first request, not at import: `next build` must not need the secret.
async function handler(req: NextRequest, ctx: RouteContext): Promise<Response> {
  return (await NextAuth(req, ctx, getAuthOptions())) as Response;
}

export { handler as GET, handler as POST };
