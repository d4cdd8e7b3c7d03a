import { join } from "node:path";

// The db CLI runs from packages/db (pnpm -F); paths resolve against the repository root.
const repoRoot = join(import.meta.dirname, "..", "..", "..", "..");
export const dbCliEnv = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  embeddedDir: process.env.LIKEWISE_HOME ? join(process.env.LIKEWISE_HOME, "postgres") : join(repoRoot, ".likewise", "postgres"),
};
