import { sql } from "drizzle-orm";

import type { DbOrTx } from "../client.ts";

export type DatabaseStatus = { serverVersion: string; database: string; migrationsApplied: number };

/** Server version, database name and how many migrations are applied (0 when drizzle's table is absent). */
export async function getDatabaseStatus(db: DbOrTx): Promise<DatabaseStatus> {
  const [row] = await db.execute<{ server_version: string; database: string; migrations: string | null }>(sql`
    select current_setting('server_version') as server_version,
           current_database() as database,
           case when to_regclass('drizzle.__drizzle_migrations') is null then 0
                else (select count(*) from drizzle.__drizzle_migrations) end as migrations`);
  if (!row) throw new Error("database status query returned no row");
  return {
    serverVersion: row.server_version,
    database: row.database,
    migrationsApplied: Number(row.migrations ?? 0),
  };
}
