// A PostgreSQL of the test's own (the embedded server of @likewise/db), for faults that restart or stop the database:
// the shared server on 127.0.0.1:5432 is never touched.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { runMigrations } from "@likewise/db";
import { startEmbeddedPostgres } from "@likewise/db/embedded";

import { freePort } from "../../helpers/net.ts";

export type OwnPostgres = {
  url: string;
  port: number;
  /** Fast shutdown (open connections are terminated), then a start on the same port with the same data. */
  stop: () => Promise<void>;
  start: () => Promise<void>;
  /** Stops the server and removes its folder. */
  close: () => Promise<void>;
};

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "likewise-reliability-pg-"));
  chmodSync(dir, 0o755); // the server runs as the OS user "postgres" when we are root
  const port = await freePort();
  let server = await startEmbeddedPostgres({ dir, port, database: "likewise" });
  await runMigrations(server.url);
  let isRunning = true;
  return {
    url: server.url,
    port,
    stop: async () => {
      await server.stop();
      isRunning = false;
    },
    start: async () => {
      server = await startEmbeddedPostgres({ dir, port, database: "likewise" });
      isRunning = true;
    },
    close: async () => {
      if (isRunning) await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
