import { join, resolve } from "node:path";

// The db CLI runs from packages/db (pnpm -F); the default home resolves against the repository root.
const repoRoot = join(import.meta.dirname, "..", "..", "..", "..");
export const dbCliEnv = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  home: process.env.LIKEWISE_HOME ? resolve(process.env.LIKEWISE_HOME) : join(repoRoot, ".likewise"),
};
