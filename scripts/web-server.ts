// How to run the web app's production server (apps/web/src/serve.ts: Next's handler plus the vote ingestion path),
// for `pnpm start`, the end-to-end and reliability tests and `pnpm bench votes`. After `next build`.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const WEB_DIR = join(ROOT, "apps", "web");
const SERVE = join(WEB_DIR, "src", "serve.ts");

export type WebServerCommand = {
  cmd: string;
  args: string[];
  /** The server resolves its imports (the ~/ alias) from apps/web's tsconfig. */
  cwd: string;
  /** Merged into the child's environment. */
  env: { NODE_ENV: "production" };
};

/**
 * The command line of the production web server on `port` (and `hostname`, default all interfaces), with node flags
 * `nodeArgs` (e.g. --cpu-prof, refused in NODE_OPTIONS). One process, `node --import tsx serve.ts`, not tsx's CLI,
 * which runs the script in a child process: a signal to the pid spawned must reach the server itself (SIGKILL in the
 * fault tests, SIGTERM from `pnpm start`).
 */
export function webServerCommand(opts: {
  port: number;
  hostname?: string;
  nodeArgs?: string[];
}): WebServerCommand {
  const serverArgs = [SERVE, "-p", String(opts.port), ...(opts.hostname ? ["-H", opts.hostname] : [])];
  const args = [...(opts.nodeArgs ?? []), "--import", "tsx", ...serverArgs];
  return { cmd: process.execPath, args, cwd: WEB_DIR, env: { NODE_ENV: "production" } };
}
