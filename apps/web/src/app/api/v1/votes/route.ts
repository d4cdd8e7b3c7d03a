import { TRPCError } from "@trpc/server";
import { z } from "zod";

import { VoteInput } from "~/lib/schemas";

import { invalidInput, readBodyLimited } from "~/server/http";
import { readJson, withApiKey } from "~/server/public-api";

export const dynamic = "force-dynamic";

/** POST /api/v1/votes {imageId, value: "like"|"dislike"|null, requestId} — idempotent per requestId. */
export async function POST(req: Request) {
  const body = await readJson(req, (r) => readBodyLimited(r, 16 * 1024));
  if (body instanceof Response) return body;
  return withApiKey(req, async (caller) => {
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
export async function GET(req: Request) {
  const url = new URL(req.url);
  const q = Query.safeParse({
    limit: url.searchParams.get("limit") ?? undefined,
    cursor: url.searchParams.get("cursor") ?? undefined,
  });
  if (!q.success) return invalidInput(q.error);
  return withApiKey(req, async (caller) => {
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
