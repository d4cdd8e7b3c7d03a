// `pnpm start` on a machine with no PostgreSQL configured: it starts the embedded server, migrates, seeds the
// admin once, serves web + trainer, stops every child on Ctrl-C, and a second start finds the votes intact.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterAll, describe, expect, test } from "vitest";

import { castVote, createDb, embeddedConnectionUrl, findUserByEmail, findVote } from "@likewise/db";
import { createTestImage, createTestUser } from "@likewise/db/testing";
import { freePort } from "../helpers/net.ts";

const ROOT = resolve(import.meta.dirname, "..", "..");
const home = mkdtempSync(join(tmpdir(), "likewise-launcher-"));
chmodSync(home, 0o755); // the embedded server runs as the OS user "postgres" when we are root

function listening(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ host: "127.0.0.1", port });
    s.once("connect", () => (s.end(), res(true)));
    s.once("error", () => res(false));
  });
}

type Launch = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

async function launch(port: number): Promise<Launch> {
  const env: Record<string, string | undefined> = { ...process.env, LIKEWISE_HOME: home, PORT: String(port) };
  delete env.DATABASE_URL;
  delete env.TEST_DATABASE_URL;
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  const deadline = Date.now() + 240_000;
  while (!out.includes("Likewise is running at")) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`launcher did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, output: () => out, exited };
}

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("pnpm start on the embedded default", () => {
  test("starts, serves, stops everything, and restarts with data intact", async () => {
    const webPort = await freePort();
    const first = await launch(webPort);
    expect(first.output()).toMatch(/admin account created: admin@likewise\.local/);
    expect(first.output()).toMatch(/password \(shown only now; keep it\): \S{12,}/);

    const health = (await (await fetch(`http://127.0.0.1:${webPort}/api/health`)).json()) as {
      ok: boolean;
      database: { migrationsApplied: number };
    };
    expect(health.ok).toBe(true);
    expect(health.database.migrationsApplied).toBeGreaterThan(0);

    const url = embeddedConnectionUrl(home);
    const pgPort = Number(new URL(url).port);
    let voterId: string;
    let imageId: string;
    const h1 = createDb(url, { max: 2 });
    try {
      const voter = await createTestUser(h1.db);
      const image = await createTestImage(h1.db);
      await castVote(h1.db, { userId: voter.id, imageId: image.id, value: "like" });
      voterId = voter.id;
      imageId = image.id;
    } finally {
      await h1.close();
    }

    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain("embedded postgres: stopped");
    expect(await listening(webPort)).toBe(false);
    expect(await listening(pgPort)).toBe(false);

    const second = await launch(webPort);
    try {
      expect(second.output()).not.toMatch(/admin account created/);
      const h2 = createDb(url, { max: 2 });
      try {
        expect((await findVote(h2.db, { userId: voterId, imageId }))?.value).toBe("like");
        expect(await findUserByEmail(h2.db, "admin@likewise.local")).not.toBeNull();
      } finally {
        await h2.close();
      }
    } finally {
      second.child.kill("SIGINT");
      expect(await second.exited).toBe(0);
    }
    expect(await listening(pgPort)).toBe(false);
  });
});
