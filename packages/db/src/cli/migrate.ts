// `pnpm db:migrate`: applies drizzle/ to DATABASE_URL, or to the embedded server under .likewise/ when unset.
import { runMigrations } from "../migrate.ts";
import { startEmbeddedPostgres } from "../embedded.ts";
import { dbCliEnv } from "./env.ts";

const server = dbCliEnv.databaseUrl ? undefined : await startEmbeddedPostgres({ dir: dbCliEnv.embeddedDir, onLog: () => {} });
const url = dbCliEnv.databaseUrl ?? (server as NonNullable<typeof server>).url;
try {
  await runMigrations(url);
  console.log(`migrations applied to ${new URL(url).host}${new URL(url).pathname}`);
} finally {
  await server?.stop();
}
