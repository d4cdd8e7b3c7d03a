// Reliability tests run the production build of the web app. When the e2e project's setup built it earlier in this
// same run (`pnpm test` runs every project; setups run in project order), that build is reused; otherwise this
// project builds its own once.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

import type { TestProject } from "vitest/node";

import { buildWebApp, RELIABILITY_DIST_DIR, WEB_DIR } from "./helpers/web-app.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The build folder (apps/web/<dir>) the tests start `next start` from. */
    webDistDir: string;
  }
}

const E2E_DIST_DIR = ".next-e2e";

export default async function setup(project: TestProject) {
  const e2eBuild = join(WEB_DIR, E2E_DIST_DIR, "BUILD_ID");
  const runStartedAt = Date.now() - process.uptime() * 1000;
  if (existsSync(e2eBuild) && statSync(e2eBuild).mtimeMs > runStartedAt) {
    project.provide("webDistDir", E2E_DIST_DIR);
    return;
  }
  await buildWebApp(RELIABILITY_DIST_DIR);
  project.provide("webDistDir", RELIABILITY_DIST_DIR);
}
