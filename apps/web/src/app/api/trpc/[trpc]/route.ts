import { fetchRequestHandler } from "@trpc/server/adapters/fetch";

import { toTRPCError } from "~/server/api/errors";
import { appRouter } from "~/server/api/root";
import { createRequestContext } from "~/server/api/request-context";
import { readBodyLimited } from "~/server/http";
import { RateLimitedError, retryAfterSeconds } from "~/server/rate-limit";

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
    // The context reads the session's user: a database outage there is a 503, like one inside a procedure.
    createContext: () =>
      createRequestContext(req).catch((e: unknown) => {
        throw toTRPCError(e) ?? e;
      }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR")
        console.error(`[trpc] ${path ?? "?"}:`, error.cause ?? error);
    },
    // Retryable failures say when to retry.
    responseMeta({ errors }) {
      let retryAfter: number | undefined;
      for (const e of errors) {
        if (e.code === "SERVICE_UNAVAILABLE") retryAfter = Math.max(retryAfter ?? 0, 1);
        if (e.code === "TOO_MANY_REQUESTS" && e.cause instanceof RateLimitedError)
          retryAfter = Math.max(retryAfter ?? 0, retryAfterSeconds(e.cause.retryAfterMs));
      }
      return retryAfter === undefined ? {} : { headers: new Headers({ "retry-after": String(retryAfter) }) };
    },
  });
}

export { handler as GET, handler as POST };
