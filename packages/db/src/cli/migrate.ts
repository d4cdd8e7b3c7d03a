// `pnpm db:migrate`: applies drizzle/ to DATABASE_URL, or to the embedded server under .likewise/ when unset.
import { runMigrations } from "../migrate.ts";
import { resolveDatabase } from "../resolve.ts";
import { dbCliEnv } from "./env.ts";

const database = await resolveDatabase({ databaseUrl: dbCliEnv.databaseUrl, home: dbCliEnv.home });
try {
  await runMigrations(database.url);
  const u = new URL(database.url);
  console.log(`migrations applied to ${database.kind} database ${u.host}${u.pathname}`);
} catch (e) {
  console.error(`migration failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  await database.release();
}
