// The production build of the web app (`next build` + its production server, apps/web/src/serve.ts, as the e2e tests run it) for the reliability
// tests and `pnpm bench votes`: its own build folder, a server that can be stopped, SIGKILLed and started again on
// the same port, and its output kept for diagnostics.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { webServerCommand } from "../../../scripts/web-server.ts";
import { testEnv } from "../../helpers/env.ts";
import { freePort } from "../../helpers/net.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const WEB_DIR = join(ROOT, "apps", "web");
const NEXT_BIN = join(WEB_DIR, "node_modules", ".bin", "next");
/** Apart from `pnpm start`'s .next and the e2e tests' .next-e2e, so none of them races another's build. */
export const RELIABILITY_DIST_DIR = ".next-reliability";

function buildEnv(distDir: string): Record<string, string | undefined> {
  return { ...testEnv.inherited, NEXT_TELEMETRY_DISABLED: "1", LIKEWISE_NEXT_DIST_DIR: distDir };
}

/**
 * `next build` into `distDir` (skipped when LIKEWISE_E2E_SKIP_BUILD=1 and a build exists there). Output is kept and
 * shown only on failure.
 */
export async function buildWebApp(distDir = RELIABILITY_DIST_DIR): Promise<{ ms: number; skipped: boolean }> {
  if (testEnv.e2eSkipBuild && existsSync(join(WEB_DIR, distDir, "BUILD_ID"))) return { ms: 0, skipped: true };
  const t0 = performance.now();
  await new Promise<void>((res, rej) => {
    let out = "";
    const child = spawn(NEXT_BIN, ["build"], {
      cwd: WEB_DIR,
      env: buildEnv(distDir),
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) =>
      code === 0 ? res() : rej(new Error(`next build exited with ${code}:\n${out}`)),
    );
  });
  return { ms: performance.now() - t0, skipped: false };
}

export type WebAppOptions = {
  databaseUrl: string;
  home: string;
  distDir?: string;
  port?: number;
  /** Extra environment (e.g. LIKEWISE_RATE_LIMIT_SCALE). */
  env?: Record<string, string>;
  /** Run the server under `nice -n N` (the benchmark keeps the server at the same priority as PostgreSQL). */
  nice?: number;
  /** Node flags for the server process (e.g. --cpu-prof); it then runs as `node <flags> --import tsx serve.ts`. */
  nodeArgs?: string[];
};

export type WebApp = {
  baseUrl: string;
  port: number;
  /** The running server's pid (undefined while stopped). */
  pid: () => number | undefined;
  /** Everything the server printed (all starts). */
  output: () => string;
  /** (Re)starts the server on the same port and waits until /api/health answers (any status). */
  start: () => Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop: () => Promise<void>;
  /** SIGKILL now; resolves when the process is gone. */
  kill: () => Promise<void>;
};

export async function createWebApp(opts: WebAppOptions): Promise<WebApp> {
  const port = opts.port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...buildEnv(opts.distDir ?? RELIABILITY_DIST_DIR),
    NODE_ENV: "production",
    DATABASE_URL: opts.databaseUrl,
    LIKEWISE_HOME: opts.home,
    NEXTAUTH_URL: baseUrl,
    NEXTAUTH_SECRET: "reliability-secret-reliability-secret-0123",
    ...opts.env,
  };
  let child: ChildProcess | undefined;
  let out = "";

  const exited = (c: ChildProcess) =>
    new Promise<void>((res) => {
      if (c.exitCode !== null || c.signalCode !== null) return res();
      c.once("exit", () => res());
    });

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null)
      throw new Error("the web app is running");
    const server = webServerCommand({ port, hostname: "127.0.0.1", nodeArgs: opts.nodeArgs });
    const [cmd, args] =
      opts.nice === undefined
        ? [server.cmd, server.args]
        : ["nice", ["-n", String(opts.nice), server.cmd, ...server.args]];
    const c = spawn(cmd, args, {
      cwd: server.cwd,
      env: { ...env, ...server.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    c.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    child = c;
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      if (c.exitCode !== null) throw new Error(`the web server exited with ${c.exitCode}:\n${out}`);
      try {
        await fetch(`${baseUrl}/api/health`, { signal: AbortSignal.timeout(5_000) });
        return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the web server was not ready at ${baseUrl} after 60 s:\n${out}`);
  };

  const stop = async () => {
    const c = child;
    if (!c) return;
    const killer = setTimeout(() => c.kill("SIGKILL"), 10_000);
    c.kill("SIGTERM");
    await exited(c);
    clearTimeout(killer);
  };

  const kill = async () => {
    const c = child;
    if (!c) return;
    c.kill("SIGKILL");
    await exited(c);
  };

  return {
    baseUrl,
    port,
    pid: () => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    output: () => out,
    start,
    stop,
    kill,
  };
}
