// `pnpm start`: database (DATABASE_URL or the embedded server under .likewise/) → migrations → seed →
// `next build` if the web sources changed → web on :PORT and the trainer worker. Ctrl-C stops everything.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { createDb, runMigrations } from "@likewise/db";
import { resolveDatabase } from "@likewise/db/embedded";

import { launcherEnv as env } from "./env.ts";
import { seedInstallation } from "./seed.ts";
import { webServerCommand } from "./web-server.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const WEB = join(ROOT, "apps", "web");
const say = (msg: string) => console.log(`[likewise] ${msg}`);

/** Fingerprint of everything the web build depends on (paths, sizes, mtimes). */
function webFingerprint(): string {
  const h = createHash("sha256");
  const walk = (p: string) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort())
        if (e !== "node_modules" && e !== ".next" && e !== ".cache") walk(join(p, e));
    } else h.update(`${p}:${st.size}:${st.mtimeMs}\n`);
  };
  for (const p of [
    "apps/web/src",
    "apps/web/next.config.ts",
    "apps/web/package.json",
    "packages/db/src",
    "packages/serving/src",
    "packages/ui/src",
    "pnpm-lock.yaml",
  ]) {
    walk(join(ROOT, p));
  }
  return h.digest("hex");
}

function runToEnd(cmd: string, args: string[], cwd: string): Promise<number> {
  return new Promise((res) => {
    const child = spawn(cmd, args, { cwd, stdio: "inherit", env: env.inherited });
    child.on("exit", (code, signal) => res(code ?? (signal ? 1 : 0)));
  });
}

function prefixed(name: string, child: ChildProcess) {
  for (const stream of [child.stdout, child.stderr]) {
    let buf = "";
    stream?.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const line of lines) console.log(`[${name}] ${line}`);
    });
  }
}

async function waitForHealth(url: string, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const r = await fetch(url);
      if (r.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

const children = new Map<string, ChildProcess>();
let database: Awaited<ReturnType<typeof resolveDatabase>> | undefined;
let stopping = false;

async function stopAll(code: number, why: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    say(`stopping (${why})…`);
    await Promise.all(
      [...children.entries()].map(
        ([name, child]) =>
          new Promise<void>((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            const killer = setTimeout(() => {
              say(`${name} did not stop in 15 s; killing it`);
              child.kill("SIGKILL");
            }, 15_000);
            child.once("exit", () => {
              clearTimeout(killer);
              res();
            });
            child.kill("SIGTERM");
          }),
      ),
    );
    await database
      ?.release()
      .catch((e: unknown) => say(`the embedded database did not stop cleanly: ${String(e)}`));
    say("stopped");
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0, "SIGINT"));
process.on("SIGTERM", () => void stopAll(0, "SIGTERM"));

try {
  database = await resolveDatabase({ databaseUrl: env.databaseUrl, home: env.home, onLog: say });
  say(
    database.kind === "embedded"
      ? `embedded PostgreSQL under ${join(env.home, "postgres")}`
      : "using DATABASE_URL",
  );
  await runMigrations(database.url);
  say("migrations applied");

  const handle = createDb(database.url, { max: 2, applicationName: "likewise-launcher" });
  try {
    await seedInstallation(handle.db, { home: env.home, log: say });
  } finally {
    await handle.close();
  }

  const stamp = join(WEB, ".next", "likewise-build.json");
  const fingerprint = webFingerprint();
  const built =
    existsSync(join(WEB, ".next", "BUILD_ID")) &&
    existsSync(stamp) &&
    (JSON.parse(readFileSync(stamp, "utf8")) as { fingerprint: string }).fingerprint === fingerprint;
  if (!built && !env.skipBuild) {
    say("building the web app (first start or sources changed)…");
    const code = await runToEnd(join(WEB, "node_modules", ".bin", "next"), ["build"], WEB);
    if (code !== 0) await stopAll(1, "web build failed");
    writeFileSync(stamp, JSON.stringify({ fingerprint, at: new Date().toISOString() }));
  }

  const childEnv = {
    ...env.inherited,
    DATABASE_URL: database.url,
    LIKEWISE_HOME: env.home,
    PORT: String(env.port),
    // next-auth builds absolute URLs (OAuth callbacks) from it; a deployment behind a proxy sets its public URL.
    NEXTAUTH_URL: env.inherited.NEXTAUTH_URL ?? `http://localhost:${env.port}`,
  };
  const web = webServerCommand({ port: env.port });
  const specs: [string, string, string[], string, Record<string, string>][] = [
    ["web", web.cmd, web.args, web.cwd, web.env],
    [
      "trainer",
      join(ROOT, "node_modules", ".bin", "tsx"),
      [join(ROOT, "apps", "trainer", "src", "main.ts")],
      ROOT,
      {},
    ],
  ];
  for (const [name, cmd, args, cwd, extraEnv] of specs) {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...childEnv, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.set(name, child);
    prefixed(name, child);
    child.on("exit", (code, signal) => {
      if (!stopping) void stopAll(1, `${name} exited unexpectedly (${signal ?? `code ${code}`})`);
    });
  }
  if (await waitForHealth(`http://127.0.0.1:${env.port}/api/health`, 60_000)) {
    say(`Likewise is running at http://localhost:${env.port}  (Ctrl-C stops it)`);
  } else {
    await stopAll(1, "the web app did not become healthy within 60 s");
  }
} catch (e) {
  console.error(`[likewise] failed to start: ${e instanceof Error ? e.message : String(e)}`);
  await stopAll(1, "startup failure");
}
