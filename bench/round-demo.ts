// `pnpm bench round-demo --password <admin password> [--url http://localhost:3000] [--config '{…}'] [--screenshots docs/screenshots]`:
// the issue-8 demo through the real product. Against an installation started with `pnpm start` (and fed with
// `pnpm likewise simulate --votes 2000`), it signs in to the admin UI in Chromium as the seeded admin, presses
// "Run now" on /admin/rounds, follows the round's page until the round ends, and takes the screenshots
// (rounds list, live training with curves, the finished round with its gate and contact sheet). It records the
// times (click → queued → training → … → published) and the gate's like rates in bench/results/round-demo.json.
// Reads the round's row from the installation's database (--database-url, else the embedded server under --home).
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

import { chromium, type Page } from "playwright-core";

import { createDb, getRound } from "@likewise/db";
import { resolveDatabase } from "@likewise/db/embedded";

import { machineInfo, writeResult } from "./lib/results.ts";

const ADMIN_EMAIL = "admin@likewise.local";
const LIVE = new Set(["queued", "draining", "training", "exporting", "evaluating"]);

export default async function main(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: "string", default: "http://localhost:3000" },
      password: { type: "string" },
      config: { type: "string", default: "{}" },
      screenshots: { type: "string", default: "docs/screenshots" },
      "timeout-min": { type: "string", default: "40" },
      home: { type: "string", default: ".likewise" },
      "database-url": { type: "string" },
      chromium: { type: "string", default: "/usr/bin/chromium" },
    },
  });
  if (!values.password) throw new Error("--password <the admin password `pnpm start` printed> is required");
  const base = values.url.replace(/\/$/, "");
  const shots = resolve(values.screenshots);
  mkdirSync(shots, { recursive: true });
  const timeoutMs = Number(values["timeout-min"]) * 60_000;

  const database = await resolveDatabase({ databaseUrl: values["database-url"], home: resolve(values.home) });
  const { url } = database;
  const handle = createDb(url, { max: 2 });
  const browser = await chromium.launch({ executablePath: values.chromium });
  const t0 = Date.now();
  const at = () => Math.round((Date.now() - t0) / 1000);
  const phases: Record<string, number> = {};
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(60_000);
    await page.goto(`${base}/signin?callbackUrl=/admin/rounds`);
    await page.getByLabel("Email").fill(ADMIN_EMAIL);
    await page.getByLabel("Password").fill(values.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${base}/admin/rounds`);

    await page.getByLabel("Round config", { exact: true }).fill(values.config);
    await page.getByRole("button", { name: "Run now" }).first().click();
    const notice = await page.getByText(/Round [0-9a-f]{8} queued/).textContent();
    const prefix = /Round ([0-9a-f]{8})/.exec(notice ?? "")?.[1];
    if (!prefix) throw new Error(`no round was queued (${notice ?? "no notice"})`);
    const clickedAt = Date.now();
    phases.queued = at();
    console.error(`round ${prefix}… queued`);
    await page.getByRole("link", { name: prefix }).click();
    await page.waitForURL(/\/admin\/rounds\/[0-9a-f-]{36}$/);
    const roundId = page.url().split("/").pop() as string;

    let status = "queued";
    let tookTraining = false;
    while (LIVE.has(status)) {
      if (Date.now() - clickedAt > timeoutMs)
        throw new Error(`round ${roundId} still ${status} after ${values["timeout-min"]} min`);
      await new Promise((r) => setTimeout(r, 3000));
      const round = await getRound(handle.db, roundId);
      if (round.status !== status) {
        status = round.status;
        phases[status] = at();
        console.error(`${new Date().toISOString()} ${status}`);
      }
      const p = round.progress as { step?: number; totalSteps?: number };
      if (!tookTraining && status === "training" && p.totalSteps && (p.step ?? 0) >= 0.6 * p.totalSteps) {
        await shot(page, join(shots, "round-training.png"));
        tookTraining = true;
      }
    }
    const round = await getRound(handle.db, roundId);
    await page.reload();
    await page
      .getByText(/Gate \(/)
      .waitFor()
      .catch(() => undefined);
    await page.waitForTimeout(1500); // charts and the contact sheet image settle
    await shot(page, join(shots, "round-finished.png"));
    await page.goto(`${base}/admin/rounds`);
    await page.waitForTimeout(1500);
    await shot(page, join(shots, "admin-rounds.png"));

    const gate = (
      round.metrics as {
        gate?: {
          passed: boolean;
          parent: { likeRate: number; fidelity: number };
          candidate: { likeRate: number; fidelity: number };
        };
      }
    ).gate;
    const training = (round.metrics as { training?: { wallTimeSec?: number; steps?: number } }).training;
    const result = {
      machine: machineInfo(),
      roundId,
      status: round.status,
      error: round.error,
      labels: { desirable: round.labelCountDesirable, undesirable: round.labelCountUndesirable },
      parent: round.parentModelVersionId,
      candidate: round.candidateModelVersionId,
      secondsFromClick: phases,
      totalSeconds: Math.round(((round.finishedAt?.getTime() ?? Date.now()) - clickedAt) / 1000),
      training,
      gate,
    };
    console.log(JSON.stringify(result, null, 2));
    console.error(`wrote ${writeResult("round-demo", result)}`);
    if (round.status !== "published") process.exitCode = 1;
  } finally {
    await browser.close();
    await handle.close();
    await database.release();
  }
}

async function shot(page: Page, file: string) {
  await page.screenshot({ path: file, fullPage: true });
  console.error(`screenshot ${file}`);
}
