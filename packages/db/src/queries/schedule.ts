import { asc, eq, sql } from "drizzle-orm";
import type { PgUpdateSetSource } from "drizzle-orm/pg-core";

import type { DbOrTx } from "../client.ts";
import type { PromotionPolicy } from "../enums.ts";
import { NotFoundError, withDbErrors } from "../errors.ts";
import { schedule } from "../schema/round.ts";
import { mustExist } from "./util.ts";

export type Schedule = typeof schedule.$inferSelect;

export type ScheduleInput = {
  name: string;
  /** Five- or six-field cron in `timezone`; null for a data-triggered-only schedule. */
  cron?: string | null;
  timezone?: string;
  isDataTriggered?: boolean;
  minNewLabels?: number;
  classBalanceMin?: number;
  classBalanceMax?: number;
  roundConfig?: Record<string, unknown>;
  promotionPolicy?: PromotionPolicy;
  experimentTrafficPercent?: number | null;
  isEnabled?: boolean;
  createdBy?: string | null;
};

/**
 * Creates a schedule. The database checks the shape (a trigger exists, band 0 ≤ min ≤ max ≤ 1, traffic % iff the
 * policy is "experiment"): INVALID_INPUT otherwise; CONFLICT for a taken name. Cron and timezone semantics are the
 * job queue's to validate.
 */
export async function createSchedule(db: DbOrTx, input: ScheduleInput): Promise<Schedule> {
  return withDbErrors(async () => {
    const [row] = await db.insert(schedule).values(input).returning();
    return mustExist(row, "schedule");
  });
}

/** Partial update; the same checks as createSchedule apply to the resulting row. */
export async function updateSchedule(
  db: DbOrTx,
  input: { scheduleId: string } & Partial<Omit<ScheduleInput, "createdBy">>,
): Promise<Schedule> {
  const { scheduleId, ...patch } = input;
  return setSchedule(db, scheduleId, patch);
}

export async function getSchedule(db: DbOrTx, scheduleId: string): Promise<Schedule> {
  return withDbErrors(async () => {
    const [row] = await db.select().from(schedule).where(eq(schedule.id, scheduleId));
    if (!row) throw new NotFoundError(`schedule ${scheduleId} not found`, { table: "schedule" });
    return row;
  });
}

export async function listSchedules(db: DbOrTx, input: { enabledOnly?: boolean } = {}): Promise<Schedule[]> {
  return withDbErrors(() =>
    db
      .select()
      .from(schedule)
      .where(input.enabledOnly ? eq(schedule.isEnabled, true) : undefined)
      .orderBy(asc(schedule.name)),
  );
}

/** Records that the schedule fired (a round was started or skipped); the admin page shows it. */
export async function markScheduleTriggered(db: DbOrTx, input: { scheduleId: string }): Promise<Schedule> {
  return setSchedule(db, input.scheduleId, { lastTriggeredAt: sql`now()` });
}

async function setSchedule(
  db: DbOrTx,
  scheduleId: string,
  set: PgUpdateSetSource<typeof schedule>,
): Promise<Schedule> {
  return withDbErrors(async () => {
    const [row] = await db
      .update(schedule)
      .set({ ...set, updatedAt: sql`now()` })
      .where(eq(schedule.id, scheduleId))
      .returning();
    if (!row) throw new NotFoundError(`schedule ${scheduleId} not found`, { table: "schedule" });
    return row;
  });
}
