import NextAuth from "next-auth";

import { getAuthOptions } from "~/server/auth/config";

export const dynamic = "force-dynamic";

type RouteContext = { params: Promise<{ nextauth: string[] }> };

// Options are built on the first request, not at import: `next build` must not need the secret.
function handler(req: Request, ctx: RouteContext): Promise<Response> {
  return NextAuth(req as never, ctx as never, getAuthOptions()) as Promise<Response>;
}

export { handler as GET, handler as POST };
