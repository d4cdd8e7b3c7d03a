import { sql } from "drizzle-orm";
import { check, index, pgTable } from "drizzle-orm/pg-core";

import { modelVersion } from "./model-version.ts";

const tz = { withTimezone: true, mode: "date" } as const;

/**
 * One serving process (a web replica or a trainer worker) and what its model host reports: the version it routes
 * production to, and per-version readiness, requests and latency. Written as a heartbeat; the admin page lists hosts
 * seen recently and whether each has converged on the registry's production.
 */
export const servingHost = pgTable(
  "serving_host",
  (t) => ({
    id: t.text().primaryKey(),
    kind: t.text().notNull(),
    hostname: t.text().notNull(),
    pid: t.integer().notNull(),
    /** The version production requests go to on this host; null before the first load. */
    productionVersionId: t.text().references(() => modelVersion.id, { onDelete: "set null" }),
    isConverged: t.boolean().notNull().default(false),
    /** The host's full status (versions, states, errors, request counts, latency percentiles). */
    status: t.jsonb().$type<Record<string, unknown>>().notNull().default({}),
    startedAt: t.timestamp(tz).notNull().defaultNow(),
    heartbeatAt: t.timestamp(tz).notNull().defaultNow(),
  }),
  (table) => [
    check("serving_host_id_shape", sql`${table.id} ~ '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$'`),
    index("serving_host_heartbeat_idx").on(table.heartbeatAt),
  ],
);
