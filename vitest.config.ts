import { fileURLToPath } from "node:url";

import { defineConfig } from "vitest/config";

// One project per workspace; `pnpm test` runs them all. Database-backed projects share one
// PostgreSQL (TEST_DATABASE_URL/DATABASE_URL, or an embedded server) set up in tests/helpers/global-setup.ts.
const dbSetup = ["tests/helpers/global-setup.ts"];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "db",
          include: ["packages/db/src/**/*.test.ts"],
          globalSetup: dbSetup,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "kto",
          include: ["packages/kto/src/**/*.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          pool: "forks",
        },
      },
      { test: { name: "serving", include: ["packages/serving/src/**/*.test.ts"], testTimeout: 120_000 } },
      { test: { name: "synth", include: ["packages/synth/src/**/*.test.ts"], testTimeout: 120_000 } },
      {
        test: { name: "ui", include: ["packages/ui/src/**/*.test.{ts,tsx}"] },
        esbuild: { jsx: "automatic" },
      },
      {
        test: {
          name: "trainer",
          include: ["apps/trainer/src/**/*.test.ts"],
          globalSetup: dbSetup,
          testTimeout: 600_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Web server code outside Next: `~/` is apps/web/src.
        resolve: {
          alias: {
            "~": fileURLToPath(new URL("./apps/web/src", import.meta.url)),
          },
        },
        test: {
          name: "web",
          include: ["apps/web/src/**/*.test.ts"],
          globalSetup: dbSetup,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      { test: { name: "architecture", include: ["tests/architecture.test.ts"] } },
      {
        // The web app in Debian's Chromium against `next build` + the production server (src/serve.ts) on a fresh database.
        test: {
          name: "e2e",
          include: ["tests/e2e/**/*.test.ts"],
          globalSetup: ["tests/e2e/global-setup.ts"],
          // The browser waits on a loaded 2-core machine: give every expect.poll 20 s, not the default 1 s.
          expect: { poll: { timeout: 20_000, interval: 100 } },
          testTimeout: 120_000,
          hookTimeout: 900_000,
        },
      },
      {
        // Faults under load, hostile input and access over HTTP against the production build (tests/reliability).
        resolve: {
          alias: {
            "~": fileURLToPath(new URL("./apps/web/src", import.meta.url)),
          },
        },
        test: {
          name: "reliability",
          include: ["tests/reliability/**/*.test.ts"],
          globalSetup: [...dbSetup, "tests/reliability/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["tests/**/*.test.ts"],
          exclude: [
            "tests/e2e/**",
            "tests/reliability/**",
            "tests/architecture.test.ts",
            "**/node_modules/**",
          ],
          globalSetup: dbSetup,
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
