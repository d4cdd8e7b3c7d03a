import { join } from "node:path";

import { startEmbeddedPostgres } from "./embedded.ts";

export type ResolvedDatabase = {
  url: string;
  /** "external" = DATABASE_URL; "embedded" = the server under `<home>/postgres`. */
  kind: "external" | "embedded";
  /** Stops the embedded server if this process started it; a no-op otherwise. */
  release: () => Promise<void>;
};

/**
 * The database a Likewise process talks to: `databaseUrl` when given (production), else the embedded
 * PostgreSQL under `<home>/postgres`, started if no other process of this installation has started it.
 */
export async function resolveDatabase(opts: {
  databaseUrl?: string | undefined;
  home: string;
  onLog?: (line: string) => void;
}): Promise<ResolvedDatabase> {
  if (opts.databaseUrl) return { url: opts.databaseUrl, kind: "external", release: async () => {} };
  const server = await startEmbeddedPostgres({ dir: join(opts.home, "postgres"), onLog: opts.onLog });
  return { url: server.url, kind: "embedded", release: server.stop };
}
