// @likewise/db/embedded — starting and stopping the embedded PostgreSQL. A separate entry because it spawns
// server binaries: processes that only connect (the web app) import `embeddedConnectionUrl` from the main entry.
export { startEmbeddedPostgres, type EmbeddedOptions, type EmbeddedServer } from "./embedded.ts";
export { resolveDatabase, type ResolvedDatabase } from "./resolve.ts";
