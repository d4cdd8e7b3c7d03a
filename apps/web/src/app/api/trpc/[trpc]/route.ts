import { fetchRequestHandler } from "@trpc/server/adapters/fetch";

import { appRouter } from "~/server/api/root";
import { createRequestContext } from "~/server/api/request-context";
import { readBodyLimited } from "~/server/http";

export const dynamic = "force-dynamic";

async function handler(req: Request) {
  let request = req;
  if (req.method === "POST") {
    const body = await readBodyLimited(req);
    if (body instanceof Response) return body;
    request = new Request(req.url, { method: "POST", headers: req.headers, body });
  }
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: () => createRequestContext(req),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR")
        console.error(`[trpc] ${path ?? "?"}:`, error.cause ?? error);
    },
  });
}

export { handler as GET, handler as POST };
