// Rounds as jobs: the pg-boss "round" queue (singleton: one round job active across workers), cron schedules with time
// zones (pg-boss timekeeper), the data-triggered mode, and a sweep that resumes rounds whose worker died (stale
// heartbeat) and re-sends queued rounds. Every start goes through runRound's lease, so a round never runs twice.
import {
  countLabelPool,
  createRound,
  type Db,
  getProductionModelVersion,
  getSchedule,
  listRounds,
  listSchedules,
  listStaleRounds,
  markScheduleTriggered,
  type Round,
  type Schedule,
  updateRoundStatus,
} from "@likewise/db";
import type { JobQueue } from "@likewise/db/queue";

import { parseRoundConfig } from "./config.ts";
import { type RoundDeps, runRound } from "./runner.ts";

/** The round config a schedule asks for, with its promotion policy folded in. */
export function scheduleRoundConfig(
  s: Pick<Schedule, "roundConfig" | "promotionPolicy" | "experimentTrafficPercent">,
): Record<string, unknown> {
  const promotion =
    s.promotionPolicy === "experiment"
      ? { policy: "experiment", trafficPercent: Math.min(99, s.experimentTrafficPercent ?? 10) }
      : { policy: s.promotionPolicy === "promote_if_gate" ? "promote" : "none" };
  return { ...s.roundConfig, promotion };
}

export type TriggerDecision = { start: true } | { start: false; reason: string };

/** Whether the label pool meets a schedule's minimum and class-balance band. */
export async function checkScheduleLabels(db: Db, s: Schedule): Promise<TriggerDecision> {
  const production = await getProductionModelVersion(db);
  const pool = await countLabelPool(db, { family: production.family });
  if (pool.total < Math.max(1, s.minNewLabels)) {
    return {
      start: false,
      reason: `${pool.total} new consented labels, the schedule needs ${s.minNewLabels}`,
    };
  }
  const share = pool.desirable / pool.total;
  if (share < s.classBalanceMin || share > s.classBalanceMax) {
    return {
      start: false,
      reason: `class balance ${(100 * share).toFixed(1)}% liked is outside ${(100 * s.classBalanceMin).toFixed(0)}–${(100 * s.classBalanceMax).toFixed(0)}%`,
    };
  }
  return { start: true };
}

export class RoundScheduler {
  private running: string | null = null;
  private readonly controller = new AbortController();
  private current: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: RoundDeps & { queue: JobQueue; staleMs: number }) {}

  /** Runs a round in this worker unless it is already busy with one (returns false then). */
  async run(roundId: string): Promise<Round | null> {
    if (this.running) return null;
    this.running = roundId;
    try {
      const p = runRound(this.deps, roundId, { signal: this.controller.signal });
      this.current = p.catch(() => {});
      return await p;
    } finally {
      this.running = null;
    }
  }

  /** Schedule `scheduleId` fired (cron) or its data condition holds: start a round, or record why not. */
  async fire(scheduleId: string, trigger: "schedule" | "data"): Promise<Round | null> {
    const s = await getSchedule(this.deps.db, scheduleId);
    if (!s.isEnabled) return null;
    const live = await listRounds(this.deps.db, {
      statuses: ["queued", "draining", "training", "exporting", "evaluating"],
      limit: 1,
    });
    const decision: TriggerDecision =
      live.length > 0
        ? { start: false, reason: `round ${live[0]?.id} is still ${live[0]?.status}` }
        : await checkScheduleLabels(this.deps.db, s);
    await markScheduleTriggered(this.deps.db, { scheduleId });
    if (!decision.start) {
      if (trigger === "data") return null; // the data trigger is re-checked every sweep; only cron fires record a skip
      // A skipped fire is recorded as a round that never started, with the reason (the admin rounds list shows it).
      const round = await createRound(this.deps.db, {
        trigger,
        scheduleId,
        objectiveConfig: scheduleRoundConfig(s),
      });
      const ended = await updateRoundStatus(this.deps.db, {
        roundId: round.id,
        to: "failed",
        error: `skipped: ${decision.reason}`,
      });
      this.deps.log.info("scheduled round skipped", {
        scheduleId,
        roundId: round.id,
        reason: decision.reason,
      });
      return ended.round;
    }
    parseRoundConfig(scheduleRoundConfig(s)); // a broken config fails here, before anything is claimed
    const round = await createRound(this.deps.db, {
      trigger,
      scheduleId,
      objectiveConfig: scheduleRoundConfig(s),
    });
    await this.deps.queue.send("round", { roundId: round.id }, { singletonKey: round.id });
    this.deps.log.info("round queued by schedule", { scheduleId, roundId: round.id, trigger });
    return round;
  }

  /** Resumes rounds whose worker died, re-sends queued rounds, checks data-triggered schedules, syncs cron. */
  async sweep(): Promise<void> {
    const { db, log } = this.deps;
    for (const r of await listStaleRounds(db, { olderThanMs: this.deps.staleMs })) {
      if (this.running) break;
      log.warn("resuming a round whose worker stopped sending heartbeats", {
        roundId: r.id,
        status: r.status,
        previousWorker: r.workerId,
      });
      void this.run(r.id).catch((e: unknown) =>
        log.error("resume failed", { roundId: r.id, error: String(e) }),
      );
    }
    for (const r of await listRounds(db, { statuses: ["queued"], limit: 10 })) {
      await this.deps.queue.send("round", { roundId: r.id }, { singletonKey: r.id });
    }
    const schedules = await listSchedules(db, { enabledOnly: true });
    for (const s of schedules.filter((x) => x.isDataTriggered)) {
      await this.fire(s.id, "data").catch((e: unknown) =>
        log.warn("data trigger failed", { scheduleId: s.id, error: String(e) }),
      );
    }
    const cron = schedules.flatMap((s) => (s.cron ? [{ id: s.id, cron: s.cron, timezone: s.timezone }] : []));
    await this.deps.queue.syncSchedules(cron, async (scheduleId) => {
      await this.fire(scheduleId, "schedule");
    });
  }

  /** Worker shutdown: the running round stops after its current step and stays resumable. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.current;
  }
}
