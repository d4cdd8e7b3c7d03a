// Round jobs against real PostgreSQL + pg-boss: a cron fire that does not meet the schedule's minimum is recorded as
// a skipped round with the reason (labels untouched); schedules' cron + time zone go to pg-boss's timekeeper, which
// refuses a bad time zone; the schedule's promotion policy is folded into the round config.
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import {
  createDb,
  createSchedule,
  findProductionModelVersion,
  getSchedule,
  setProductionAlias,
} from "@likewise/db";
import { openJobQueue, SCHEDULE_QUEUE_PREFIX, type JobQueue } from "@likewise/db/queue";
import { createTestModelVersion } from "@likewise/db/testing";
import { LocalArtifactStore, LocalBlobStore } from "@likewise/serving";

import { createLogger } from "../log.ts";
import { RoundScheduler, scheduleRoundConfig } from "./jobs.ts";
import { parseRoundConfig } from "./config.ts";

const url = inject("databaseUrl");
const handle = createDb(url, { max: 4 });
const { db } = handle;
let queue: JobQueue;
let scheduler: RoundScheduler;

beforeAll(async () => {
  if (!(await findProductionModelVersion(db)))
    await setProductionAlias(db, { modelVersionId: (await createTestModelVersion(db)).id, kind: "initial" });
  queue = await openJobQueue(url, { role: "worker" });
  scheduler = new RoundScheduler({
    db,
    blobs: LocalBlobStore.atHome("/tmp/likewise-jobs-test"),
    store: LocalArtifactStore.atHome("/tmp/likewise-jobs-test"),
    home: "/tmp/likewise-jobs-test",
    log: createLogger({ test: "jobs" }, "error"),
    workerId: "jobs-test",
    queue,
    staleMs: 60_000,
  });
});
afterAll(async () => {
  await queue.syncSchedules([], async () => {});
  await queue.stop();
  await handle.close();
});

describe("round jobs", () => {
  test("a cron fire below the schedule's minimum records a skipped round with the reason", async () => {
    const s = await createSchedule(db, {
      name: `min-${Date.now()}`,
      cron: "0 2 * * *",
      timezone: "Europe/Berlin",
      minNewLabels: 1_000_000,
    });
    const round = await scheduler.fire(s.id, "schedule");
    expect(round).toMatchObject({ status: "failed", trigger: "schedule", scheduleId: s.id, startedAt: null });
    expect(round?.error).toMatch(
      /^skipped: (\d+ new consented labels, the schedule needs 1000000|round \S+ is still \w+)$/,
    );
    expect((await getSchedule(db, s.id)).lastTriggeredAt).not.toBeNull();
    // The data trigger does not record skips (it is re-checked on every sweep).
    const d = await createSchedule(db, {
      name: `data-${Date.now()}`,
      isDataTriggered: true,
      minNewLabels: 1_000_000,
    });
    expect(await scheduler.fire(d.id, "data")).toBeNull();
  });

  test("schedules go to pg-boss with their time zone; a bad time zone is refused", async () => {
    const s = await createSchedule(db, {
      name: `tz-${Date.now()}`,
      cron: "*/5 * * * *",
      timezone: "America/New_York",
    });
    await queue.syncSchedules([{ id: s.id, cron: s.cron ?? "", timezone: s.timezone }], async () => {});
    const [row] = await handle.sql<{ name: string; cron: string; timezone: string }[]>`
      select name, cron, timezone from pgboss.schedule where name = ${SCHEDULE_QUEUE_PREFIX + s.id}`;
    expect(row).toEqual({
      name: SCHEDULE_QUEUE_PREFIX + s.id,
      cron: "*/5 * * * *",
      timezone: "America/New_York",
    });
    await expect(
      queue.syncSchedules([{ id: s.id, cron: "0 2 * * *", timezone: "Mars/Olympus" }], async () => {}),
    ).rejects.toThrow(/time zone|Mars/i);
  });

  test("the schedule's promotion policy becomes the round config's", () => {
    const base = { roundConfig: { steps: 10 }, experimentTrafficPercent: null };
    expect(
      parseRoundConfig(scheduleRoundConfig({ ...base, promotionPolicy: "promote_if_gate" })).promotion,
    ).toEqual({ policy: "promote" });
    expect(parseRoundConfig(scheduleRoundConfig({ ...base, promotionPolicy: "none" })).promotion).toEqual({
      policy: "none",
    });
    expect(
      parseRoundConfig(
        scheduleRoundConfig({ ...base, promotionPolicy: "experiment", experimentTrafficPercent: 25 }),
      ).promotion,
    ).toEqual({ policy: "experiment", trafficPercent: 25 });
  });
});
