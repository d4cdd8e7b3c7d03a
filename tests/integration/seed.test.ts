// scripts/seed.ts on a fresh database: the base model verified, stored and made production, the curated prompts the
// pool fills, the admin once; a second run changes nothing. Runs on its own database because it moves the
// production alias (tests/integration/hot-swap.test.ts owns the alias of the shared one).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import {
  createDb,
  getProductionModelVersion,
  listActivePrompts,
  listProductionAliasHistory,
  runMigrations,
} from "@likewise/db";
import { readModelArtifact } from "@likewise/serving";

import { BASE_MODEL_ID, CURATED_PROMPTS, seedInstallation } from "../../scripts/seed.ts";

const server = inject("databaseUrl");
const name = `likewise_seed_${randomBytes(4).toString("hex")}`;
const admin = createDb(server, { max: 1 });
const url = (() => {
  const u = new URL(server);
  u.pathname = `/${name}`;
  return u.toString();
})();
const home = mkdtempSync(join(tmpdir(), "likewise-seed-"));
let handle: ReturnType<typeof createDb>;

beforeAll(async () => {
  await admin.sql.unsafe(`create database "${name}"`);
  await runMigrations(url);
  handle = createDb(url, { max: 2 });
});
afterAll(async () => {
  await handle.close();
  await admin.sql.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.close();
  rmSync(home, { recursive: true, force: true });
});

describe("seedInstallation", () => {
  test("registers models/base as production (verified, in the artifact store) and the curated prompts; idempotent", async () => {
    const logs: string[] = [];
    await seedInstallation(handle.db, { home, log: (m) => logs.push(m) });
    const prod = await getProductionModelVersion(handle.db);
    expect(prod).toMatchObject({ id: BASE_MODEL_ID, status: "registered", family: "tiny" });
    expect(prod.artifactUri).toBe(`file://${join(home, "models", BASE_MODEL_ID)}`);
    const stored = await readModelArtifact(join(home, "models", BASE_MODEL_ID));
    expect(stored.manifest.onnx.sha256).toBe(prod.sha256);
    expect(prod.metrics).toMatchObject({ registration: { output: { batch: 3 } } });
    const prompts = (await listActivePrompts(handle.db, { source: "curated" })).map((p) => p.text);
    expect(prompts.sort()).toEqual([...CURATED_PROMPTS].sort());
    expect(logs.join("\n")).toMatch(
      /admin account created[\s\S]*curated prompts added: 12[\s\S]*base model registered as production/,
    );

    const again: string[] = [];
    await seedInstallation(handle.db, { home, log: (m) => again.push(m) });
    expect(again).toEqual([]);
    expect(await listProductionAliasHistory(handle.db)).toHaveLength(1);
    expect((await listActivePrompts(handle.db, { source: "curated" })).length).toBe(CURATED_PROMPTS.length);
  });
});
