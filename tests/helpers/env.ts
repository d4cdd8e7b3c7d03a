// The only reader of process.env for the test suites.
export const testEnv = {
  /** A PostgreSQL server to create throwaway databases on; unset = start an embedded one. */
  databaseUrl: process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL,
  /** Keep the throwaway database after the run (debugging). */
  keepDatabase: process.env.LIKEWISE_TEST_KEEP_DB === "1",
  ci: process.env.CI === "true",
  /** The browser the end-to-end tests drive (Debian's chromium; never a downloaded one). */
  chromiumPath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  /** `1` = reuse an existing apps/web/.next-e2e build instead of running `next build` (local iteration only). */
  e2eSkipBuild: process.env.LIKEWISE_E2E_SKIP_BUILD === "1",
  /** `1` = also write the screenshots to docs/screenshots/ (to refresh the committed ones). */
  e2eUpdateScreenshots: process.env.LIKEWISE_E2E_SCREENSHOTS === "1",
  /** Everything a child process (next start, the trainer worker) inherits. */
  inherited: { ...process.env } as Record<string, string | undefined>,
};
