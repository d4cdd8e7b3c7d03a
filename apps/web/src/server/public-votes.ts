import "~/server/only";

import { z } from "zod";

import { invalidInput, jsonError } from "./http";
import { errorResponse } from "./api-response";
import { withApiKey } from "./public-api";

// POST /api/v1/votes is answered by vote-ingest.ts (outside Next in production).

const Query = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(30),
  cursor: z.coerce.number().int().positive().optional(),
});

/** GET /api/v1/votes?limit=30&cursor=<nextCursor> — the key account's current votes, newest change first. */
export async function listVotes(headers: Headers, query: URLSearchParams): Promise<Response> {
  const q = Query.safeParse({
    limit: query.get("limit") ?? undefined,
    cursor: query.get("cursor") ?? undefined,
  });
  if (!q.success) return invalidInput(q.error);
  return withApiKey(headers, async (caller) => {
    const r = await caller.feedback.mine({ limit: q.data.limit, cursor: q.data.cursor });
    return {
      votes: r.votes.map((v) => ({
        imageId: v.imageId,
        value: v.value,
        prompt: v.promptText,
        updatedAt: v.updatedAt,
      })),
      nextCursor: r.nextBeforeLabelId,
    };
  });
}

export function methodNotAllowed(allow: readonly string[]): Response {
  return jsonError(405, "METHOD_NOT_SUPPORTED", `use ${allow.join(" or ")}`, { allow: allow.join(", ") });
}

export { errorResponse };
