import "~/server/only";

import type { IncomingMessage, ServerResponse } from "node:http";

import { TRPCError } from "@trpc/server";

import { createVoteWriter, findApiKeyUser, type VoteWriter } from "@likewise/db";
import type { UserRole } from "@likewise/db/enums";

import { roleAtLeast } from "~/lib/roles";
import { VoteInput } from "~/lib/schemas";

import { apiKeyFrom, hashApiKey } from "./api-keys";
import {
  API_VERSION,
  DATABASE_DEADLINE_MS,
  errorResponse,
  keyRateLimited,
  missingKey,
  parseJsonBody,
  unknownKey,
  withDeadline,
} from "./api-response";
import { getDb } from "./db";
import { jsonError } from "./http";
import { getLimits } from "./limits";
import { enforceLimit } from "./rate-limit";

// POST /api/v1/votes, the hot path of the vote load, on Node's own request and response objects. The production
// server (src/serve.ts) answers it before Next's request handler, whose per-request work alone costs more CPU than
// this whole path (BENCHMARKS.md, "Vote API under load"); the Pages Router route (pages/api/v1/votes.ts) calls the
// same function under `next dev`. Same answers as the rest of /api/v1 (docs/api.md): same checks in the same order
// (body size, JSON, key, per-key limit, vote schema, per-user vote limit), same JSON errors. What differs is how the
// database is used:
// - a vote is written by a group-committing writer (createVoteWriter): the votes that arrive while one batch
//   commits go out together in the next statement; a request is answered only after its batch committed;
// - the key → account lookup is cached for KEY_CACHE_TTL_MS. The cache cannot let a revoked key or a blocked account
//   vote: the batch checks every vote's key in its own transaction and writes nothing for a dead key (→ 401, and
//   the entry is dropped).

/** A vote is a few hundred bytes. */
export const MAX_VOTE_BODY_BYTES = 16 * 1024;

const KEY_CACHE_TTL_MS = 30_000;
const KEY_CACHE_MAX = 100_000;

type KeyOwner = { keyId: string; userId: string; email: string; role: UserRole };

/** sha256(key) → the account it acts for, for a bounded time; least recently used entries go first. */
export class ApiKeyCache {
  private readonly entries = new Map<string, { owner: KeyOwner; until: number }>();

  constructor(
    private readonly ttlMs = KEY_CACHE_TTL_MS,
    private readonly max = KEY_CACHE_MAX,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(keyHash: string): KeyOwner | undefined {
    const e = this.entries.get(keyHash);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.entries.delete(keyHash);
      return undefined;
    }
    return e.owner;
  }

  set(keyHash: string, owner: KeyOwner): void {
    this.entries.delete(keyHash);
    this.entries.set(keyHash, { owner, until: this.now() + this.ttlMs });
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  delete(keyHash: string): void {
    this.entries.delete(keyHash);
  }

  get size(): number {
    return this.entries.size;
  }
}

// One writer and one cache per module instance: the production server's (native) copy serves every API vote.
let writer: VoteWriter | undefined;
const keys = new ApiKeyCache();

function voteWriter(): VoteWriter {
  return (writer ??= createVoteWriter(getDb().db));
}

/** Waits until every accepted vote is written (graceful shutdown); later votes are refused with 503. */
export async function drainVoteWriter(): Promise<void> {
  await writer?.drain();
}

/** Answers one POST /api/v1/votes. Never throws: every failure is a JSON error response. */
export async function handleVotePost(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const text = await readBody(req, MAX_VOTE_BODY_BYTES);
    if (text === null) return await send(res, tooLarge());
    const body = parseJsonBody(text);
    if (body instanceof Response) return await send(res, body);
    const xApiKey = req.headers["x-api-key"];
    const key = apiKeyFrom(req.headers.authorization, Array.isArray(xApiKey) ? xApiKey.join(", ") : xApiKey);
    if (!key) return await send(res, missingKey());
    const keyHash = hashApiKey(key);
    let owner = keys.get(keyHash);
    if (!owner) {
      const found = await withDeadline(findApiKeyUser(getDb().db, { keyHash }), DATABASE_DEADLINE_MS);
      if (!found) return await send(res, unknownKey());
      keys.set(keyHash, found);
      owner = found;
    }
    const limits = getLimits();
    const perKey = limits.api.take(`key:${owner.keyId}`);
    if (!perKey.ok) return await send(res, keyRateLimited(perKey.retryAfterMs));
    // As the tRPC raterProcedure + feedback.vote do it:
    if (!roleAtLeast(owner.role, "rater"))
      throw new TRPCError({ code: "FORBIDDEN", message: "requires the rater role" });
    const input = VoteInput.safeParse(body);
    if (!input.success)
      throw new TRPCError({ code: "BAD_REQUEST", message: "invalid vote", cause: input.error });
    enforceLimit(limits.vote.take(owner.userId), "votes");
    const outcome = await withDeadline(
      voteWriter().cast({ keyId: owner.keyId, userId: owner.userId, ...input.data }),
      DATABASE_DEADLINE_MS,
    );
    if (outcome.kind === "unauthorized") {
      keys.delete(keyHash);
      return await send(res, unknownKey());
    }
    if (outcome.kind === "failed") throw outcome.error;
    const v = outcome.result;
    const json = JSON.stringify({
      apiVersion: API_VERSION,
      vote: { imageId: v.imageId, value: v.value, changed: v.changed, duplicate: v.isDuplicate },
    });
    res.writeHead(200, {
      "content-type": "application/json",
      "cache-control": "no-store",
      "content-length": Buffer.byteLength(json),
    });
    res.end(json);
  } catch (e) {
    await send(res, errorResponse(e));
  }
}

/** A Fetch API Response (the shared error builders make them) written to Node's response. */
export async function send(res: ServerResponse, response: Response, head = false): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  res.statusCode = response.status;
  response.headers.forEach((value, name) => res.setHeader(name, value));
  res.end(head ? undefined : body);
}

const tooLarge = () =>
  jsonError(413, "PAYLOAD_TOO_LARGE", `request body larger than ${MAX_VOTE_BODY_BYTES} bytes`);

/**
 * The body as UTF-8 text, or null as soon as it is larger than `max` bytes (declared or actual). The rest of a
 * too-large body is discarded unread (Node closes the connection after the 413 if the upload has not finished).
 */
export function readBody(req: IncomingMessage, max: number): Promise<string | null> {
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
