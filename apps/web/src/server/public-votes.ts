import "~/server/only";

import { TRPCError } from "@trpc/server";
import { z } from "zod";

import { VoteInput } from "~/lib/schemas";

import { invalidInput, jsonError } from "./http";
import { errorResponse, parseJsonBody, withApiKey } from "./public-api";

/** A vote is a few hundred bytes. */
export const MAX_VOTE_BODY_BYTES = 16 * 1024;

/** POST /api/v1/votes {imageId, value: "like"|"dislike"|null, requestId} — idempotent per requestId. */
export async function postVote(headers: Headers, bodyText: string): Promise<Response> {
  const body = parseJsonBody(bodyText);
  if (body instanceof Response) return body;
  return withApiKey(headers, async (caller) => {
    const input = VoteInput.safeParse(body);
    if (!input.success)
      throw new TRPCError({ code: "BAD_REQUEST", message: "invalid vote", cause: input.error });
    const vote = await caller.feedback.vote(input.data);
    return {
      vote: { imageId: vote.imageId, value: vote.value, changed: vote.changed, duplicate: vote.isDuplicate },
    };
  });
}

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
