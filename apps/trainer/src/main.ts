// Composition root of the trainer worker: env → database (given or embedded) → migrations → work loop.
// SIGINT/SIGTERM stop the loop, close the pool and stop an embedded server this process started.
import { createDb, runMigrations, type DbHandle } from "@likewise/db";
import { resolveDatabase, type ResolvedDatabase } from "@likewise/db/embedded";

import { env } from "./env.ts";
import { createLogger } from "./log.ts";

const log = createLogger({ svc: "trainer", worker: env.workerId }, env.logLevel);

let database: ResolvedDatabase | undefined;
let handle: DbHandle | undefined;
let stopping = false;

async function shutdown(reason: string, code: number) {
  if (stopping) return;
  stopping = true;
  log.info("stopping", { reason });
  await handle?.close().catch(() => {});
  await database?.release().catch((e: unknown) => log.error("embedded database did not stop", { error: String(e) }));
  log.info("stopped");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown("SIGINT", 0));
process.on("SIGTERM", () => void shutdown("SIGTERM", 0));

try {
  database = await resolveDatabase({ databaseUrl: env.databaseUrl, home: env.home });
  await runMigrations(database.url);
  handle = createDb(database.url, { max: 4, applicationName: env.workerId });
  const [server] = await handle.sql<{ version: string }[]>`select current_setting('server_version') as version`;
  log.info("ready", { database: database.kind, postgres: server?.version });
  // Wake-ups from web and other workers arrive over LISTEN/NOTIFY; the job queue attaches here.
  await handle.sql.listen("likewise", (payload) => log.info("notify", { payload }));
} catch (e) {
  log.error("failed to start", { error: e instanceof Error ? e.message : String(e) });
  await shutdown("startup failure", 1);
}
