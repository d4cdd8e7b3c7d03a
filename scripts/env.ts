import { resolve } from "node:path";

// The only reader of process.env for the launcher.
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`PORT must be an integer in 1..65535 (got "${process.env.PORT}")`);
  process.exit(2);
}
export const launcherEnv = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  home: resolve(process.env.LIKEWISE_HOME ?? ".likewise"),
  port,
  /** Skip `next build` even when sources changed (e.g. CI already built). */
  skipBuild: process.env.LIKEWISE_SKIP_BUILD === "1",
  /** Everything the children inherit. */
  inherited: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } as Record<string, string | undefined>,
};
