// @likewise/db — schema, client factory (a given PostgreSQL or the embedded one), every SQL statement as a
// named verb, and typed domain errors.

// Client and lifecycle
export { createDb, type Db, type DbHandle, type DbOptions, type DbOrTx, type Sql } from "./client.ts";
export { embeddedConnectionUrl } from "./embedded-url.ts";
export { MIGRATIONS_DIR, runMigrations } from "./migrate.ts";
export { getDatabaseStatus, type DatabaseStatus } from "./queries/health.ts";
