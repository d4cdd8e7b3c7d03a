// Vitest global setup for database-backed projects: a throwaway database, migrated from drizzle/, on the
// server named by TEST_DATABASE_URL/DATABASE_URL, or on an embedded PostgreSQL when neither is set.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import postgres from "postgres";
import type { TestProject } from "vitest/node";

import { runMigrations } from "@likewise/db";
import { startEmbeddedPostgres } from "@likewise/db/embedded";

import { testEnv } from "./env.ts";
import { freePort } from "./net.ts";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function setup(project: TestProject) {
  let serverUrl = testEnv.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let embeddedDir: string | undefined;
  if (!serverUrl) {
    embeddedDir = mkdtempSync(join(tmpdir(), "likewise-test-pg-"));
    chmodSync(embeddedDir, 0o755); // the server runs as the OS user "postgres" when we are root
    const server = await startEmbeddedPostgres({
      dir: embeddedDir,
      port: await freePort(),
      database: "postgres",
    });
    serverUrl = server.url;
    stopEmbedded = server.stop;
  }

  const database = `likewise_test_${project.name.replace(/\W/g, "_")}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  const url = withDatabase(serverUrl, database);
  await runMigrations(url);
  project.provide("databaseUrl", url);

  return async () => {
    if (!testEnv.keepDatabase) await admin.unsafe(`drop database if exists "${database}" with (force)`);
    await admin.end({ timeout: 5 });
    await stopEmbedded?.();
    if (embeddedDir) rmSync(embeddedDir, { recursive: true, force: true });
  };
}
