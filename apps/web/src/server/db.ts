import "~/server/only";

import { createDb, embeddedConnectionUrl, type DbHandle } from "@likewise/db";

import { env } from "~/env";

// One pool per server process, kept on globalThis so dev-mode reloads do not open new pools. The web app only
// connects: `pnpm start` (or the trainer) owns the embedded server when DATABASE_URL is unset.
const g = globalThis as unknown as { __likewiseDb?: DbHandle };

export function getDb(): DbHandle {
  g.__likewiseDb ??= createDb(env.databaseUrl ?? embeddedConnectionUrl(env.home), {
    max: 10,
    applicationName: "likewise-web",
  });
  return g.__likewiseDb;
}
