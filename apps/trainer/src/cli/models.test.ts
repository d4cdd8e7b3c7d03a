// `pnpm likewise models …` as an operator runs it, on the test database (registration only: the production alias
// of this project's database belongs to generation.test.ts).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterAll, describe, expect, inject, test } from "vitest";

import { createDb, getModelVersion } from "@likewise/db";
import { writeTestArtifact } from "@likewise/serving/testing";

const ROOT = resolve(import.meta.dirname, "..", "..", "..", "..");
const home = mkdtempSync(join(tmpdir(), "likewise-cli-models-"));
const url = inject("databaseUrl");
const handle = createDb(url, { max: 2 });
afterAll(async () => {
  await handle.close();
  rmSync(home, { recursive: true, force: true });
});

function likewise(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "apps/trainer/src/cli.ts", "models", ...args], {
    cwd: ROOT,
    env: { ...process.env, LIKEWISE_HOME: home, DATABASE_URL: url },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("likewise models", () => {
  test("register verifies, stores and records a version; a corrupt folder is refused with its reason; usage errors exit 2", async () => {
    const id = `cli-${Date.now().toString(36)}`;
    const good = likewise("register", "--dir", await writeTestArtifact(join(home, "in"), { id }));
    expect(good.stderr).toBe("");
    expect(good.stdout).toMatch(new RegExp(`registered ${id} \\(load \\d+ ms`));
    expect(await getModelVersion(handle.db, id)).toMatchObject({ status: "registered", family: "contract" });

    const badId = `${id}-bad`;
    const bad = likewise(
      "register",
      "--dir",
      await writeTestArtifact(join(home, "in"), { id: badId, corrupt: "nan" }),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/model version refused \(OUTPUT_CHECK_FAILED\): .*NaN or infinite/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect((await getModelVersion(handle.db, badId)).status).toBe("rejected");

    expect(likewise("register").code).toBe(2);
    expect(likewise("frobnicate").stderr).toContain('unknown subcommand "frobnicate"');
  });
});
