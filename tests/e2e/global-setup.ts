// End-to-end setup: a fresh database (the shared test setup), an installation folder with the base model as
// production (the launcher's seed), real images sampled from models/base through @likewise/serving and stored in
// the blob store, an admin account, the production build of the web app (`next build` + its production server, src/serve.ts), and the
// trainer worker (on-demand generations; pool refills off so the feed holds exactly the images made here).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { TestProject } from "vitest/node";

import { createDb, createPrompt, createUser, hashPassword, recordImage } from "@likewise/db";
import { encodePng, loadModel, LocalBlobStore, sampleImages } from "@likewise/serving";

import { BASE_MODEL_DIR, BASE_MODEL_ID, seedInstallation } from "../../scripts/seed.ts";
import { webServerCommand } from "../../scripts/web-server.ts";
import { testEnv } from "../helpers/env.ts";
import dbSetup from "../helpers/global-setup.ts";
import { freePort } from "../helpers/net.ts";

declare module "vitest" {
  export interface ProvidedContext {
    e2e: { baseUrl: string; databaseUrl: string; home: string; admin: { email: string; password: string } };
  }
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WEB = join(ROOT, "apps", "web");
/** The e2e build's own folder (next.config.ts reads LIKEWISE_NEXT_DIST_DIR), apart from `pnpm start`'s .next. */
const DIST_DIR = ".next-e2e";
export const E2E_ADMIN = { email: "e2e-admin@example.test", password: "e2e-admin-password" };
/** Feed images sampled in setup (30: more than one grid page), five seeds per prompt (not among the seed's curated prompts, which are unique). */
export const FEED_PROMPTS = [
  "a small red circle on a white background",
  "a large blue square",
  "a green triangle at the top",
  "a yellow star on a black background",
  "a purple ring on a white background",
  "an orange square in the centre",
];

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "inherit", "inherit"] });
    child.on("exit", (code) =>
      code === 0 ? res() : rej(new Error(`${cmd} ${args.join(" ")} exited with ${code}`)),
    );
  });
}

async function waitFor(url: string, timeoutMs: number, child: ChildProcess, name: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${name} not ready at ${url} after ${timeoutMs} ms`);
}

function stop(child: ChildProcess | undefined): Promise<void> {
  return new Promise((res) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return res();
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(killer);
      res();
    });
    child.kill("SIGTERM");
  });
}

export default async function setup(project: TestProject) {
  if (!existsSync(testEnv.chromiumPath)) {
    throw new Error(
      `no browser at ${testEnv.chromiumPath}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  const teardownDb = await dbSetup(project);
  const databaseUrl = project.getProvidedContext().databaseUrl;
  const home = mkdtempSync(join(tmpdir(), "likewise-e2e-home-"));
  const children: ChildProcess[] = [];
  const teardown = async () => {
    for (const c of children.reverse()) await stop(c);
    rmSync(home, { recursive: true, force: true });
    await teardownDb();
  };
  try {
    const handle = createDb(databaseUrl, { max: 2 });
    try {
      await seedInstallation(handle.db, { home, log: () => {} });
      await createUser(handle.db, {
        email: E2E_ADMIN.email,
        role: "admin",
        passwordHash: await hashPassword(E2E_ADMIN.password),
        trainingConsent: false,
      });
      const model = await loadModel(BASE_MODEL_DIR, { intraOpNumThreads: 1 });
      const blobs = LocalBlobStore.atHome(home);
      try {
        for (const text of FEED_PROMPTS) {
          const prompt = await createPrompt(handle.db, { text, source: "curated" });
          const seeds = [11, 12, 13, 14, 15];
          const r = await sampleImages(model, { prompts: seeds.map(() => text), seeds, steps: 20 });
          for (const [i, rgb] of r.images.entries()) {
            const blobKey = await blobs.put(encodePng(rgb));
            await recordImage(handle.db, {
              promptId: prompt.id,
              modelVersionId: BASE_MODEL_ID,
              seed: seeds[i] ?? 0,
              sampler: "ddim",
              steps: r.settings.steps,
              guidance: r.settings.guidanceScale,
              eta: r.settings.eta,
              blobKey,
              width: rgb.width,
              height: rgb.height,
            });
          }
        }
      } finally {
        await model.host.release();
      }
    } finally {
      await handle.close();
    }

    const buildEnv = { ...testEnv.inherited, NEXT_TELEMETRY_DISABLED: "1", LIKEWISE_NEXT_DIST_DIR: DIST_DIR };
    if (!(testEnv.e2eSkipBuild && existsSync(join(WEB, DIST_DIR, "BUILD_ID")))) {
      await run(join(WEB, "node_modules", ".bin", "next"), ["build"], WEB, buildEnv);
    }
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = {
      ...buildEnv,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      DATABASE_URL: databaseUrl,
      LIKEWISE_HOME: home,
      NEXTAUTH_URL: baseUrl,
      NEXTAUTH_SECRET: "e2e-secret-e2e-secret-e2e-secret-0123456789",
    };
    const server = webServerCommand({ port, hostname: "127.0.0.1" });
    const web = spawn(server.cmd, server.args, {
      cwd: server.cwd,
      env: { ...env, ...server.env },
      stdio: ["ignore", "inherit", "inherit"],
    });
    children.push(web);
    const trainer = spawn(
      join(ROOT, "node_modules", ".bin", "tsx"),
      [join(ROOT, "apps", "trainer", "src", "main.ts")],
      {
        cwd: ROOT,
        env: { ...env, POOL_TARGET: "0", LOG_LEVEL: "warn", TRAINER_WORKER_ID: "e2e-trainer" },
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    children.push(trainer);
    await waitFor(`${baseUrl}/api/health`, 60_000, web, "the web server");
    project.provide("e2e", { baseUrl, databaseUrl, home, admin: E2E_ADMIN });
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
