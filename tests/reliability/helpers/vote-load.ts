// Simulated users voting through the public HTTP API (POST /api/v1/votes), for `pnpm bench votes` and the fault
// tests: voters with their own accounts and API keys, closed-loop clients over keep-alive connections, every
// attempt recorded (status, latency, request id) so a test can check what was acknowledged against the database.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Agent, request } from "node:http";

import { createApiKey, type DbOrTx } from "@likewise/db";
import {
  createTestImage,
  createTestModelVersion,
  createTestPrompt,
  createTestUser,
} from "@likewise/db/testing";

export type Voter = { userId: string; key: string };
export type VoteFixture = { voters: Voter[]; imageIds: string[]; modelVersionId: string };

/** A key in the format the web app issues ("lw_" + 32 random bytes, base64url); only its sha256 is stored. */
export function newApiKey(): { key: string; prefix: string; keyHash: string } {
  const key = `lw_${randomBytes(32).toString("base64url")}`;
  return { key, prefix: key.slice(0, 10), keyHash: createHash("sha256").update(key).digest("hex") };
}

/** `users` consenting raters, each with an API key, and `images` images of one fresh model version. */
export async function createVoteFixture(
  db: DbOrTx,
  opts: { users: number; images: number; concurrency?: number },
): Promise<VoteFixture> {
  const version = await createTestModelVersion(db);
  const prompt = await createTestPrompt(db);
  const imageIds: string[] = [];
  const voters: Voter[] = [];
  const c = opts.concurrency ?? 8;
  for (let i = 0; i < opts.images; i += c) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(c, opts.images - i) }, () =>
        createTestImage(db, { modelVersionId: version.id, promptId: prompt.id }),
      ),
    );
    imageIds.push(...batch.map((b) => b.id));
  }
  for (let i = 0; i < opts.users; i += c) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(c, opts.users - i) }, async () => {
        const user = await createTestUser(db, { role: "rater", trainingConsent: true });
        const k = newApiKey();
        await createApiKey(db, { name: "vote load", prefix: k.prefix, keyHash: k.keyHash, userId: user.id });
        return { userId: user.id, key: k.key };
      }),
    );
    voters.push(...batch);
  }
  return { voters, imageIds, modelVersionId: version.id };
}

export type VoteAttempt = {
  voter: number;
  image: number;
  requestId: string;
  value: "like" | "dislike";
  /** HTTP status, or 0 when the request failed without a response (connection refused/reset, timeout). */
  status: number;
  /** Retry-After header (seconds) when present. */
  retryAfter: number | null;
  error: string | null;
  /** Start time (ms since the load began) and latency. */
  at: number;
  ms: number;
  /** False for the warm-up phase. */
  measured: boolean;
};

export type LoadOptions = {
  baseUrl: string;
  fixture: VoteFixture;
  /** Concurrent requests (one keep-alive connection each). */
  concurrency: number;
  /** Stop after this long (warm-up included). */
  durationMs: number;
  /** Attempts before this are warm-up (recorded with measured = false). */
  warmupMs?: number;
  /** Per-request timeout; a timed-out request is recorded as status 0. */
  timeoutMs?: number;
  /**
   * Retry a vote that got no answer, a 5xx or a 429 with the same request id until it is acknowledged (fault
   * tests), waiting Retry-After (or 200 ms). Without it every vote is sent once (benchmark).
   */
  retry?: boolean;
  /** Stop early (e.g. the fault test has seen enough). */
  signal?: AbortSignal;
  /** Called for every attempt as it completes. */
  onAttempt?: (a: VoteAttempt) => void;
  /** Votes per voter at most (default: one per image). */
  votesPerVoter?: number;
  /**
   * GET instead of POST, same URL and key, no body (the benchmark's floor of a request that goes through Next: the
   * production server hands everything but POST /api/v1/votes to Next's handler).
   */
  method?: "POST" | "GET";
};

export type LoadResult = { attempts: VoteAttempt[]; elapsedMs: number; planned: number; finished: boolean };

type Reply = { status: number; retryAfter: number | null; error: string | null };

function post(agent: Agent, url: URL, key: string, body: string | null, timeoutMs: number): Promise<Reply> {
  return new Promise((res) => {
    let done = false;
    const finish = (r: Reply) => {
      if (!done) {
        done = true;
        res(r);
      }
    };
    const req = request(
      url,
      {
        method: body === null ? "GET" : "POST",
        agent,
        headers:
          body === null
            ? { authorization: `Bearer ${key}` }
            : {
                authorization: `Bearer ${key}`,
                "content-type": "application/json",
                "content-length": Buffer.byteLength(body),
              },
        timeout: timeoutMs,
      },
      (resp) => {
        let text = "";
        resp.setEncoding("utf8");
        resp.on("data", (d: string) => (text += d));
        resp.on("end", () => {
          const ra = resp.headers["retry-after"];
          const status = resp.statusCode ?? 0;
          finish({
            status,
            retryAfter: ra === undefined ? null : Number(ra),
            error: status === 200 ? null : text.slice(0, 300),
          });
        });
        resp.on("error", (e) => finish({ status: 0, retryAfter: null, error: e.message }));
      },
    );
    req.on("timeout", () => {
      req.destroy(new Error(`no response within ${timeoutMs} ms`));
    });
    req.on("error", (e) => finish({ status: 0, retryAfter: null, error: e.message }));
    req.end(body ?? undefined);
  });
}

/**
 * Closed-loop load: `concurrency` clients take the next vote from one schedule — vote k is voter k mod U on image
 * ⌊k / U⌋, so every voter's votes are spread evenly over the run (each voter votes at total rate / U) and every
 * (voter, image) is voted at most once. Ends at `durationMs`, when the schedule is exhausted, or on `signal`.
 */
export async function runVoteLoad(opts: LoadOptions): Promise<LoadResult> {
  const { fixture } = opts;
  const users = fixture.voters.length;
  const perVoter = Math.min(opts.votesPerVoter ?? fixture.imageIds.length, fixture.imageIds.length);
  const planned = users * perVoter;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const warmupMs = opts.warmupMs ?? 0;
  const agent = new Agent({
    keepAlive: true,
    maxSockets: opts.concurrency,
    maxFreeSockets: opts.concurrency,
  });
  const url = new URL("/api/v1/votes", opts.baseUrl);
  const attempts: VoteAttempt[] = [];
  const t0 = performance.now();
  let next = 0;
  const isOver = () => performance.now() - t0 >= opts.durationMs || (opts.signal?.aborted ?? false);

  const client = async () => {
    while (!isOver()) {
      const k = next++;
      if (k >= planned) return;
      const voter = k % users;
      const imageIdx = Math.floor(k / users);
      const v = fixture.voters[voter];
      const imageId = fixture.imageIds[imageIdx];
      if (!v || !imageId) return;
      const value = (voter + imageIdx) % 3 === 0 ? "dislike" : "like";
      const requestId = randomUUID();
      const body = JSON.stringify({ imageId, value, requestId });
      for (;;) {
        const at = performance.now() - t0;
        const r = await post(agent, url, v.key, opts.method === "GET" ? null : body, timeoutMs);
        const a: VoteAttempt = {
          voter,
          image: imageIdx,
          requestId,
          value,
          status: r.status,
          retryAfter: r.retryAfter,
          error: r.error,
          at,
          ms: performance.now() - t0 - at,
          measured: at >= warmupMs,
        };
        attempts.push(a);
        opts.onAttempt?.(a);
        const retryable = r.status === 0 || r.status === 429 || r.status >= 500;
        if (!opts.retry || !retryable) break;
        // A retried vote is finished even past the deadline: the fault tests need every vote acknowledged.
        if (opts.signal?.aborted) break;
        const waitMs = r.retryAfter !== null && Number.isFinite(r.retryAfter) ? r.retryAfter * 1000 : 200;
        await new Promise((res) => setTimeout(res, Math.min(waitMs, 2_000)));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, client));
  agent.destroy();
  return { attempts, elapsedMs: performance.now() - t0, planned, finished: next >= planned };
}

/** Quantile (nearest rank) of a sample; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}
