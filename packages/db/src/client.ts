import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";

import * as schema from "./schema/index.ts";

export type DbOptions = {
  /** Pool size per process. */
  max?: number;
  /** Application name shown in pg_stat_activity. */
  applicationName?: string;
  /** Receives server notices instead of the console. */
  onNotice?: (notice: postgres.Notice) => void;
};

export type Db = ReturnType<typeof drizzle<typeof schema>>;
export type Sql = postgres.Sql;
/** A transaction or the root handle: verbs accept either. */
export type DbOrTx = Db | Parameters<Parameters<Db["transaction"]>[0]>[0];

export type DbHandle = { db: Db; sql: Sql; close: () => Promise<void> };

/** One postgres.js pool + drizzle over it. `close()` waits for in-flight queries (5 s). */
export function createDb(url: string, opts: DbOptions = {}): DbHandle {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: opts.onNotice ?? (() => {}),
    connection: { application_name: opts.applicationName ?? "likewise" },
    // Dates cross the wire as ISO strings; drizzle maps them per column.
  });
  const db = drizzle(sql, { schema, casing: "snake_case" });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
