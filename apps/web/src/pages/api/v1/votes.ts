// The public vote API as a Pages Router API route, not an App Router route handler: the hot path of the vote load
// (BENCHMARKS.md, "Vote API under load"). Measured on the production build, a route that parses the body and answers
// 401 costs ~0.5 ms of web-process CPU per request here against ~1.3 ms as an App Router handler (Web Request/Response
// adaptation, async storage, the RSC runtime). Same logic, validation, limits and errors as the rest of /api/v1
// (server/public-votes.ts, server/public-api.ts).
import type { IncomingMessage, ServerResponse } from "node:http";

import { jsonError } from "~/server/http";
import {
  errorResponse,
  listVotes,
  MAX_VOTE_BODY_BYTES,
  methodNotAllowed,
  postVote,
} from "~/server/public-votes";

// The body is read here, with the API's own 413 (Next's parser would answer a plain-text error).
export const config = { api: { bodyParser: false, responseLimit: false } };

export default async function votes(req: IncomingMessage, res: ServerResponse): Promise<void> {
  let response: Response;
  try {
    const headers = headersOf(req);
    if (req.method === "POST") {
      const body = await readBody(req, MAX_VOTE_BODY_BYTES);
      response = body === null ? tooLarge() : await postVote(headers, body);
    } else if (req.method === "GET" || req.method === "HEAD") {
      response = await listVotes(headers, new URL(req.url ?? "/", "http://localhost").searchParams);
    } else {
      response = methodNotAllowed(["GET", "POST"]);
    }
  } catch (e) {
    response = errorResponse(e);
  }
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  res.end(req.method === "HEAD" ? undefined : Buffer.from(await response.arrayBuffer()));
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

const tooLarge = () =>
  jsonError(413, "PAYLOAD_TOO_LARGE", `request body larger than ${MAX_VOTE_BODY_BYTES} bytes`);

/**
 * The body as UTF-8 text, or null as soon as it is larger than `max` bytes (declared or actual). The rest of a
 * too-large body is discarded unread (Node closes the connection after the 413 if the upload has not finished).
 */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  const declared = Number(req.headers["content-length"] ?? "NaN");
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      req.off("data", onData);
      req.resume();
      resolve(null);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.once("error", reject);
  });
}
