// The only reader of process.env for the test suites.
export const testEnv = {
  /** A PostgreSQL server to create throwaway databases on; unset = start an embedded one. */
  databaseUrl: process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL,
  /** Keep the throwaway database after the run (debugging). */
  keepDatabase: process.env.LIKEWISE_TEST_KEEP_DB === "1",
  ci: process.env.CI === "true",
};
