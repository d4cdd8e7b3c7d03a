// Pure-zod inputs of the admin rounds and schedules procedures (shared by routers and forms).
import { z } from "zod";

import { PROMOTION_POLICIES } from "@likewise/db/enums";

export const RoundIdInput = z.object({ roundId: z.uuid() });
export const ListRoundsInput = z.object({ limit: z.number().int().min(1).max(200).default(50) });
/** The round config is validated by the trainer's schema when the round runs; here it must be a JSON object. */
export const RoundConfigJson = z.record(z.string(), z.unknown());
export const RunRoundInput = z.object({
  parentModelVersionId: z.string().min(1).max(200).optional(),
  config: RoundConfigJson.default({}),
});

const timeZones = new Set(Intl.supportedValuesOf("timeZone").concat(["UTC"]));
const field = {
  name: z.string().trim().min(1).max(100),
  cron: z
    .string()
    .trim()
    .regex(/^\S+(\s+\S+){4,5}$/, "cron needs five (or six) fields, e.g. 0 2 * * *")
    .nullable(),
  timezone: z.string().refine((tz) => timeZones.has(tz), "unknown IANA time zone"),
  isDataTriggered: z.boolean(),
  minNewLabels: z.number().int().min(0).max(10_000_000),
  classBalanceMin: z.number().min(0).max(1),
  classBalanceMax: z.number().min(0).max(1),
  roundConfig: RoundConfigJson,
  promotionPolicy: z.enum(PROMOTION_POLICIES),
  experimentTrafficPercent: z.number().int().min(1).max(100).nullable(),
  isEnabled: z.boolean(),
};
export const ScheduleFields = z.object({
  name: field.name,
  cron: field.cron.default(null),
  timezone: field.timezone.default("UTC"),
  isDataTriggered: field.isDataTriggered.default(false),
  minNewLabels: field.minNewLabels.default(0),
  classBalanceMin: field.classBalanceMin.default(0),
  classBalanceMax: field.classBalanceMax.default(1),
  roundConfig: field.roundConfig.default({}),
  promotionPolicy: field.promotionPolicy.default("none"),
  experimentTrafficPercent: field.experimentTrafficPercent.default(null),
  isEnabled: field.isEnabled.default(true),
});
const scheduleShape = <
  T extends {
    cron?: string | null;
    isDataTriggered?: boolean;
    classBalanceMin?: number;
    classBalanceMax?: number;
    promotionPolicy?: string;
    experimentTrafficPercent?: number | null;
  },
>(
  s: z.ZodType<T>,
) =>
  s
    .refine(
      (v) => v.cron === undefined || v.cron !== null || v.isDataTriggered !== false,
      "a schedule needs a cron expression or the data trigger",
    )
    .refine((v) => (v.classBalanceMin ?? 0) <= (v.classBalanceMax ?? 1), "class balance: min must be ≤ max")
    .refine(
      (v) =>
        v.promotionPolicy === undefined ||
        (v.promotionPolicy === "experiment") === (v.experimentTrafficPercent != null),
      "traffic % is set exactly when the policy is experiment",
    );
export const CreateScheduleInput = scheduleShape(ScheduleFields);
// Partial: fields left out keep their stored values (the database re-checks the whole row's shape).
export const UpdateScheduleInput = z.object(field).partial().extend({ scheduleId: z.uuid() });
export const ScheduleIdInput = z.object({ scheduleId: z.uuid() });
