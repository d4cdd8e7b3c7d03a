// Faults under vote load, against the production build of the web app and a PostgreSQL of this file's own:
// - PostgreSQL restarted mid-load: clients get 503 + Retry-After (never a hang or a 500), the web app reconnects by
//   itself, and after the clients retry (same request ids) every vote is in the database exactly once;
// - the web server SIGKILLed mid-load and started again (as a supervisor would): clients see refused/reset
//   connections, never a 5xx; after their retries every vote is in the database exactly once.
// The other faults of the issue are covered elsewhere: a trainer SIGKILLed mid-round resumes without losing or
// reusing a label (apps/trainer/src/rounds/round.test.ts), an unwritable artifact store fails the round cleanly
// (./artifact-store.test.ts), and a serving host that cannot load a version stays on the old one
// (tests/integration/hot-swap.test.ts, "corrupt artifacts are refused …").
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import { createDb, type DbHandle } from "@likewise/db";

import { startOwnPostgres, type OwnPostgres } from "./helpers/own-postgres.ts";
import { createVoteFixture, runVoteLoad, type LoadResult, type VoteFixture } from "./helpers/vote-load.ts";
import { createWebApp, type WebApp } from "./helpers/web-app.ts";

let pg: OwnPostgres;
let handle: DbHandle;
let web: WebApp;
const home = mkdtempSync(join(tmpdir(), "likewise-faults-home-"));

beforeAll(async () => {
  pg = await startOwnPostgres();
  handle = createDb(pg.url, { max: 4 });
  // Limits scaled up: this file is about faults, not about the vote bucket (tests/reliability/access.test.ts is).
  web = await createWebApp({
    databaseUrl: pg.url,
    home,
    distDir: inject("webDistDir"),
    env: { LIKEWISE_RATE_LIMIT_SCALE: "100" },
  });
  await web.start();
}, 180_000);

afterAll(async () => {
  await web?.stop();
  await handle?.close();
  await pg?.close();
  rmSync(home, { recursive: true, force: true });
});

/** Resolves once `n` votes were acknowledged (200) in the running load. */
function acknowledged(n: number) {
  let count = 0;
  let release: () => void = () => {};
  const reached = new Promise<void>((res) => (release = res));
  return {
    onAttempt: (a: { status: number }) => {
      if (a.status === 200 && ++count === n) release();
    },
    reached,
  };
}

/**
 * Every planned vote was finally acknowledged, and the database holds each exactly once: one feedback_event, one
 * vote row with the value sent and one vote_request row per (voter, image), and nothing else for these voters.
 */
async function expectEveryVoteOnce(fixture: VoteFixture, load: LoadResult) {
  const last = new Map<string, (typeof load.attempts)[number]>();
  for (const a of load.attempts) last.set(`${a.voter}/${a.image}`, a);
  expect(load.finished).toBe(true);
  expect(last.size).toBe(load.planned);
  expect([...last.values()].filter((a) => a.status !== 200)).toEqual([]);

  const userIds = fixture.voters.map((v) => v.userId);
  const events = await handle.sql<{ user_id: string; image_id: string; n: number }[]>`
    select user_id, image_id, count(*)::int as n from feedback_event where user_id = any(${userIds}::uuid[]) group by 1, 2`;
  const votes = await handle.sql<{ user_id: string; image_id: string; value: string }[]>`
    select user_id, image_id, value::text from vote where user_id = any(${userIds}::uuid[])`;
  const requests = await handle.sql<{ user_id: string; request_id: string; image_id: string }[]>`
    select user_id, request_id, image_id from vote_request where user_id = any(${userIds}::uuid[])`;

  const expected = new Map(
    [...last.values()].map((a) => [
      `${fixture.voters[a.voter]?.userId}/${fixture.imageIds[a.image]}`,
      { value: a.value, requestId: a.requestId },
    ]),
  );
  expect(events.length).toBe(expected.size);
  expect(events.filter((e) => e.n !== 1)).toEqual([]);
  expect(votes.length).toBe(expected.size);
  for (const v of votes) expect(v.value).toBe(expected.get(`${v.user_id}/${v.image_id}`)?.value);
  expect(requests.length).toBe(expected.size);
  for (const r of requests) expect(r.request_id).toBe(expected.get(`${r.user_id}/${r.image_id}`)?.requestId);
}

describe("faults under vote load", () => {
  test("PostgreSQL restarted mid-load: 503 + Retry-After meanwhile, no hang, the API recovers by itself, every vote stored once", async () => {
    const fixture = await createVoteFixture(handle.db, { users: 40, images: 75 });
    const ack = acknowledged(60);
    const loading = runVoteLoad({
      baseUrl: web.baseUrl,
      fixture,
      concurrency: 8,
      durationMs: 120_000,
      timeoutMs: 30_000,
      retry: true,
      onAttempt: ack.onAttempt,
    });
    await ack.reached;
    const t0 = performance.now();
    await pg.stop();
    // While the database is down the app answers at once with a retryable error.
    const health = await fetch(`${web.baseUrl}/api/health`, { signal: AbortSignal.timeout(10_000) });
    expect(health.status).toBe(503);
    expect(health.headers.get("retry-after")).toBeTruthy();
    await new Promise((r) => setTimeout(r, 1_500));
    await pg.start();
    const downMs = performance.now() - t0;
    const load = await loading;

    const failed = load.attempts.filter((a) => a.status !== 200);
    expect(failed.length).toBeGreaterThan(0); // the fault hit requests
    expect(failed.filter((a) => a.status !== 503)).toEqual([]);
    for (const a of failed) {
      expect(a.retryAfter).toBeGreaterThanOrEqual(1);
      expect(a.error).toContain("SERVICE_UNAVAILABLE");
      // Answered, not left hanging: the API gives up on the database after 8 s (slower only on a starved machine).
      expect(a.ms).toBeLessThan(30_000);
    }
    // Recovery without any intervention on the web server: votes succeed again soon after the restart.
    const lastFailure = Math.max(...failed.map((a) => a.at));
    const firstOkAfter = load.attempts.find((a) => a.status === 200 && a.at > lastFailure);
    expect(firstOkAfter).toBeDefined();
    expect(downMs).toBeLessThan(30_000);
    expect((await fetch(`${web.baseUrl}/api/health`)).status).toBe(200);
    await expectEveryVoteOnce(fixture, load);
  });

  test("web server SIGKILLed mid-load and restarted: connection errors meanwhile (no 5xx, no hang), every vote stored once", async () => {
    const fixture = await createVoteFixture(handle.db, { users: 40, images: 75 });
    const ack = acknowledged(60);
    const loading = runVoteLoad({
      baseUrl: web.baseUrl,
      fixture,
      concurrency: 8,
      durationMs: 120_000,
      timeoutMs: 30_000,
      retry: true,
      onAttempt: ack.onAttempt,
    });
    await ack.reached;
    const killedPid = web.pid();
    await web.kill();
    await new Promise((r) => setTimeout(r, 500));
    await web.start();
    expect(web.pid()).not.toBe(killedPid);
    const load = await loading;

    const failed = load.attempts.filter((a) => a.status !== 200);
    expect(failed.length).toBeGreaterThan(0);
    // Refused or reset connections while the process is gone; at most a retryable 503 while it starts.
    for (const a of failed) {
      if (a.status === 0) expect(a.error).toMatch(/ECONNREFUSED|ECONNRESET|socket hang up/);
      else expect([a.status, a.retryAfter]).toEqual([503, 1]);
    }
    expect(failed.filter((a) => a.status === 0).length).toBeGreaterThan(0);
    await expectEveryVoteOnce(fixture, load);
  });
});
