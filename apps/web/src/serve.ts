// The production web server: `tsx src/serve.ts [-p PORT] [-H HOST]` in apps/web with NODE_ENV=production, after
// `next build` (what `pnpm start`, the end-to-end tests, the reliability suite and `pnpm bench votes` run). Next's
// request handler serves every page and route, as `next start` does, except one: POST /api/v1/votes, the hot path of
// the vote load, is answered here first (server/vote-ingest.ts). Any route through Next costs ≈ 0.8 ms of CPU per
// request on these machines before the route runs, a floor under 1,400 requests/s on 2 cores (BENCHMARKS.md,
// "Vote API under load"); this path costs a fraction of that. SIGTERM/SIGINT: stop accepting, finish the requests
// in progress and the votes accepted, then exit.
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import next from "next";

import { env } from "~/env";

import { drainVoteWriter, handleVotePost } from "./server/vote-ingest";

const WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
const VOTES_PATH = "/api/v1/votes";
const SHUTDOWN_GRACE_MS = 10_000;

function fail(message: string): never {
  console.error(`[likewise web] ${message}`);
  process.exit(2);
}

function options(): { port: number; hostname: string | undefined } {
  let values: { port?: string; hostname?: string };
  try {
    ({ values } = parseArgs({
      options: { port: { type: "string", short: "p" }, hostname: { type: "string", short: "H" } },
    }));
  } catch (e) {
    fail(`${e instanceof Error ? e.message : String(e)} (usage: serve.ts [-p PORT] [-H HOST])`);
  }
  const port = Number(values.port ?? "3000");
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    fail(`-p must be a port number, not ${values.port}`);
  return { port, hostname: values.hostname };
}

/** POST to exactly /api/v1/votes (a query string is allowed and ignored, as the route does). */
function isVotePost(method: string | undefined, url: string | undefined): boolean {
  if (method !== "POST" || !url?.startsWith(VOTES_PATH)) return false;
  return url.length === VOTES_PATH.length || url[VOTES_PATH.length] === "?";
}

async function main(): Promise<void> {
  const { port, hostname } = options();
  if (!env.isProduction) fail("the production server needs NODE_ENV=production (use `next dev` to develop)");
  const app = next({ dev: false, dir: WEB_DIR, hostname, port });
  await app.prepare();
  const handle = app.getRequestHandler();
  const server = createServer((req, res) => {
    if (isVotePost(req.method, req.url)) void handleVotePost(req, res);
    else void handle(req, res);
  });
  server.on("error", (e) => fail(`cannot listen on ${hostname ?? "*"}:${port}: ${e.message}`));
  server.listen(port, hostname, () => {
    console.log(`[likewise web] ready on http://${hostname ?? "localhost"}:${port}`);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[likewise web] ${signal}: finishing requests in progress`);
    const forced = setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS);
    forced.unref();
    server.close(() => {
      void drainVoteWriter()
        .then(() => app.close())
        .finally(() => process.exit(0));
    });
    server.closeIdleConnections();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((e: unknown) =>
  fail(`failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
);
