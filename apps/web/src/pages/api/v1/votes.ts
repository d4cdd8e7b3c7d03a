// The public vote API under `next dev` (and a bare `next start`). The production server (src/serve.ts) answers
// POST /api/v1/votes itself before Next's request handler, with the same function as here (server/vote-ingest.ts:
// group-committed writes, cached key lookups); GET lists the key account's votes through the tRPC procedures, as
// the rest of /api/v1 does (server/public-votes.ts, server/public-api.ts). A Pages Router API route, not an App
// Router route handler, because its per-request overhead is about a third (BENCHMARKS.md, Reliability).
import type { IncomingMessage, ServerResponse } from "node:http";

import { errorResponse, listVotes, methodNotAllowed } from "~/server/public-votes";
import { handleVotePost, send } from "~/server/vote-ingest";

// The body is read by handleVotePost, with the API's own 413 (Next's parser would answer a plain-text error).
export const config = { api: { bodyParser: false, responseLimit: false } };

export default async function votes(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === "POST") return handleVotePost(req, res);
  let response: Response;
  try {
    if (req.method === "GET" || req.method === "HEAD") {
      response = await listVotes(headersOf(req), new URL(req.url ?? "/", "http://localhost").searchParams);
    } else {
      response = methodNotAllowed(["GET", "POST"]);
    }
  } catch (e) {
    response = errorResponse(e);
  }
  await send(res, response, req.method === "HEAD");
}

function headersOf(req: IncomingMessage): Headers {
  const h = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) h.append(name, v);
    else h.set(name, value);
  }
  return h;
}
