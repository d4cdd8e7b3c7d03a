/// <reference lib="dom" />
// The web app in Debian's Chromium against `next build` + the production server (src/serve.ts) on a fresh database (tests/e2e/global-setup.ts):
// sign-up with consent, rating with mouse and keyboard, undo, "my votes", prompts with generated images, the admin
// shell (role change, hiding an image), a rater refused the admin pages and procedures, the public API, image caching.
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import {
  createDb,
  createUser,
  findUserByEmail,
  findVote,
  getImage,
  hashPassword,
  listFeedbackEvents,
  listExperiments,
  listImagesForModeration,
} from "@likewise/db";

import { testEnv } from "../helpers/env.ts";

const e2e = inject("e2e");
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SHOTS = join(ROOT, "test-results", "e2e");
const { db, close } = createDb(e2e.databaseUrl, { max: 2 });
const rater = { email: `rater-${randomUUID().slice(0, 8)}@example.test`, password: "rater-password-1" };

let browser: Browser;
let raterContext: BrowserContext;
let adminContext: BrowserContext;

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function screenshot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(SHOTS, name);
  await page.screenshot({ path: file, fullPage: true });
  if (testEnv.e2eUpdateScreenshots) {
    mkdirSync(join(ROOT, "docs", "screenshots"), { recursive: true });
    copyFileSync(file, join(ROOT, "docs", "screenshots", name));
  }
}

/** Our error notices (Next's route announcer also has role="alert"). */
function alertText(page: Page): Promise<string | null> {
  return page
    .locator('[role="alert"]:not(#__next-route-announcer__)')
    .first()
    .textContent({ timeout: 2000 })
    .catch(() => null);
}

async function feedImageId(page: Page): Promise<string> {
  const feed = page.getByTestId("feed");
  await expect.poll(() => feed.getAttribute("data-image-id"), { timeout: 15_000 }).toMatch(/^[0-9a-f-]{36}$/);
  return (await feed.getAttribute("data-image-id")) ?? "";
}

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: testEnv.chromiumPath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--disable-sync",
    ],
  });
  raterContext = await browser.newContext({ baseURL: e2e.baseUrl, viewport: { width: 1200, height: 800 } });
  adminContext = await browser.newContext({ baseURL: e2e.baseUrl, viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await close();
});

describe("rater", () => {
  let page: Page;
  const voted: Record<string, string> = {};

  it("signs up with an explicit training-consent choice and lands on the feed", async () => {
    page = await raterContext.newPage();
    await page.goto("/signup");
    await page.getByLabel("Email").fill(rater.email);
    await page.getByLabel("Password (at least 8 characters)").fill(rater.password);
    // No default: submitting without a choice is refused by the form.
    await page.getByRole("button", { name: "Create account" }).click();
    expect(await page.locator("input[name=consent]:invalid").count()).toBeGreaterThan(0);
    await page.getByLabel("Yes, use my votes for training").check();
    await page.getByRole("button", { name: "Create account" }).click();
    await page.waitForURL(`${e2e.baseUrl}/`);
    await expect.poll(() => page.getByTestId("viewer").textContent()).toContain(`${rater.email} · rater`);
    const user = await findUserByEmail(db, rater.email);
    expect(user).toMatchObject({ role: "rater", trainingConsent: true });
  });

  it("shows a real image scaled up with crisp pixels and the on-page keyboard help", async () => {
    await feedImageId(page);
    const img = page.getByTestId("feed").locator("img");
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(16);
    expect(await img.evaluate((el) => getComputedStyle(el).imageRendering)).toBe("pixelated");
    expect(await page.getByRole("region", { name: "Keyboard shortcuts" }).textContent()).toContain(
      "Undo the last vote",
    );
  });

  it("rates with the mouse and the keyboard, skips, and undoes the last vote", async () => {
    const user = await findUserByEmail(db, rater.email);
    const userId = user?.id ?? "";
    const first = await feedImageId(page);
    await page.getByRole("button", { name: "Like", exact: true }).click();
    await expect.poll(() => page.getByTestId("vote-status").textContent()).toBe("1 vote saved this session");
    expect(await findVote(db, { userId, imageId: first })).toMatchObject({ value: "like" });
    voted[first] = "like";

    const second = await feedImageId(page);
    expect(second).not.toBe(first);
    await page.keyboard.press("d");
    await expect.poll(() => page.getByTestId("vote-status").textContent()).toBe("2 votes saved this session");
    expect(await findVote(db, { userId, imageId: second })).toMatchObject({ value: "dislike" });

    const third = await feedImageId(page);
    expect([first, second]).not.toContain(third);
    await page.keyboard.press("s"); // skip: no vote
    await expect.poll(() => page.getByTestId("feed").getAttribute("data-image-id")).not.toBe(third);
    expect(await findVote(db, { userId, imageId: third })).toBeNull();

    await page.keyboard.press("u"); // undo the dislike: the image comes back and the vote is cleared
    await expect.poll(() => page.getByTestId("feed").getAttribute("data-image-id")).toBe(second);
    const events = await eventually(
      () => listFeedbackEvents(db, { userId, imageId: second }),
      (e) => e.length === 2,
    );
    expect(events.map((e) => e.newValue)).toEqual(["dislike", "cleared"]);
    expect(await findVote(db, { userId, imageId: second })).toBeNull();
    await screenshot(page, "feed.png");
  });

  it("changes and clears a vote on “my votes”", async () => {
    const user = await findUserByEmail(db, rater.email);
    const [imageId] = Object.keys(voted);
    await page.goto("/votes");
    const row = page.locator(`li[data-image-id="${imageId}"]`);
    await expect.poll(() => row.getByTestId("vote-value").textContent()).toBe("liked");
    await row.getByRole("button", { name: "Dislike", exact: true }).click();
    await eventually(
      () => findVote(db, { userId: user?.id ?? "", imageId: imageId ?? "" }),
      (v) => v?.value === "dislike",
    );
    expect(await findVote(db, { userId: user?.id ?? "", imageId: imageId ?? "" })).toMatchObject({
      value: "dislike",
    });
    await row.getByRole("button", { name: "Clear", exact: true }).click();
    await expect.poll(() => row.getByTestId("vote-value").textContent()).toBe("cleared");
    expect(
      await eventually(
        () => findVote(db, { userId: user?.id ?? "", imageId: imageId ?? "" }),
        (v) => v === null,
      ),
    ).toBeNull();
  });

  it("changes the training-consent choice in settings", async () => {
    await page.goto("/settings");
    await expect
      .poll(() => page.getByTestId("consent-state").textContent())
      .toContain("may be used for training");
    await page.getByRole("button", { name: "Revoke training consent" }).click();
    await expect
      .poll(() => page.getByTestId("consent-state").textContent())
      .toContain("may not be used for training");
    expect(await findUserByEmail(db, rater.email)).toMatchObject({ trainingConsent: false });
    await page.getByRole("button", { name: "Allow training on my votes" }).click();
    await expect.poll(async () => (await findUserByEmail(db, rater.email))?.trainingConsent).toBe(true);
  });

  it("rates from the grid view", async () => {
    const user = await findUserByEmail(db, rater.email);
    await page.goto("/grid");
    const cards = page.getByTestId("grid").locator("li");
    await expect.poll(() => cards.count()).toBeGreaterThan(5);
    const plan = ["Like", "Like", "Dislike", "Like", "Dislike"] as const;
    const ids: string[] = [];
    for (const [i, name] of plan.entries()) {
      const card = cards.nth(i);
      ids.push((await card.getAttribute("data-image-id")) ?? "");
      await card.getByRole("button", { name, exact: true }).click();
      await expect
        .poll(() => card.getByRole("button", { name, exact: true }).getAttribute("aria-pressed"))
        .toBe("true");
    }
    // Infinite scroll: the first page holds 24; reaching the end of the grid loads the rest.
    expect(await cards.count()).toBe(24);
    await page.getByTestId("grid").locator("li").last().scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, 5000);
    await expect.poll(() => cards.count()).toBe(30);
    for (const [i, id] of ids.entries()) {
      const want = plan[i] === "Like" ? "like" : "dislike";
      expect(
        await eventually(
          () => findVote(db, { userId: user?.id ?? "", imageId: id }),
          (v) => v?.value === want,
        ),
      ).toMatchObject({
        value: want,
      });
    }
  });

  it("submits a prompt: unknown words are named; a valid one is generated and its images shown", async () => {
    await page.goto("/prompts");
    const box = page.getByLabel("Describe an image");
    await box.fill("a red dragon on a blue background");
    await page.getByRole("button", { name: "Generate" }).click();
    await expect.poll(() => alertText(page)).toContain('the model does not know the word "dragon"');
    await box.fill("a large red circle on a white background");
    await page.getByRole("button", { name: "Generate" }).click();
    await expect
      .poll(() => page.getByTestId("generation-status").textContent())
      .toMatch(/queued|running|done/);
    await expect
      .poll(() => page.getByTestId("generation-status").textContent(), { timeout: 120_000, interval: 1000 })
      .toBe("done");
    const imgs = page.getByTestId("generation-images").locator("img");
    expect(await imgs.count()).toBe(4);
    await expect.poll(() => imgs.first().evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(16);
    await screenshot(page, "prompts.png");
  }, 180_000);

  it("is refused the admin pages and the admin procedures", async () => {
    await page.goto("/admin");
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toContain("403");
    await page.goto("/admin/users");
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toContain("403");
    const statuses = await page.evaluate(async () => {
      const q = await fetch(
        `/api/trpc/admin.users.list?input=${encodeURIComponent(JSON.stringify({ json: { limit: 5 } }))}`,
      );
      const m = await fetch("/api/trpc/admin.moderation.setHidden", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ json: { imageId: "00000000-0000-4000-8000-000000000000", hidden: true } }),
      });
      return [q.status, m.status];
    });
    expect(statuses).toEqual([403, 403]);
  });
});

describe("admin", () => {
  let page: Page;

  it("signs in and sees the dashboard with its charts", async () => {
    page = await adminContext.newPage();
    await page.goto("/signin?callbackUrl=/admin");
    await page.getByLabel("Email").fill(e2e.admin.email);
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => alertText(page)).toContain("wrong email or password");
    await page.getByLabel("Password").fill(e2e.admin.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${e2e.baseUrl}/admin`);
    await expect
      .poll(() => page.getByTestId("dashboard").locator("svg.recharts-surface").count())
      .toBeGreaterThan(1);
    expect(await page.getByTestId("dashboard").textContent()).toContain("base");
    await screenshot(page, "admin-dashboard.png");
    await page.goto("/admin/users");
    await expect.poll(() => page.getByTestId("users-table").locator("tbody tr").count()).toBeGreaterThan(1);
    await screenshot(page, "admin-users.png");
  });

  it("changes a user's role (effective on the user's next request)", async () => {
    await page.goto("/admin/users");
    await page.getByLabel("Search users").fill(rater.email);
    const select = page.getByLabel(`Role of ${rater.email}`);
    await expect.poll(() => select.count()).toBe(1);
    await select.selectOption("analyst");
    await expect.poll(async () => (await findUserByEmail(db, rater.email))?.role).toBe("analyst");
    const raterPage = await raterContext.newPage();
    await raterPage.goto("/admin");
    await expect.poll(() => raterPage.getByTestId("dashboard").count()).toBe(1);
    await raterPage.close();
  });

  it("creates an experiment, starts it, reads its page (tables, SRM, chart) and rolls it back", async () => {
    const name = `e2e experiment ${randomUUID().slice(0, 6)}`;
    await page.goto("/admin/experiments");
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("variant 1 model version").selectOption({ index: 1 });
    await page.getByLabel("variant 2 model version").selectOption({ index: 1 });
    await page.getByRole("button", { name: "Create draft" }).click();
    await page.getByRole("link", { name }).click();
    await page.getByRole("button", { name: "Start" }).click();
    await expect
      .poll(async () => (await listExperiments(db)).find((e) => e.name === name)?.status)
      .toBe("running");
    await expect.poll(() => page.getByTestId("variant-table").locator("tbody tr").count()).toBe(2);
    await expect
      .poll(() => page.getByTestId("experiment-detail").textContent())
      .toContain("Sample ratio: OK");
    await expect
      .poll(() => page.getByTestId("experiment-detail").locator("svg.recharts-surface").count())
      .toBeGreaterThan(0);
    await screenshot(page, "admin-experiment.png");
    await page.getByLabel("Reason (recorded with the decision)").fill("e2e: an A/A check");
    await page.getByRole("button", { name: "Roll back (keep control)" }).click();
    await expect
      .poll(async () => (await listExperiments(db)).find((e) => e.name === name)?.status)
      .toBe("decided");
  });

  it("hides an image: it leaves the moderation list's visible state and the database marks it hidden", async () => {
    await page.goto("/admin/moderation");
    const card = page.getByTestId("moderation-grid").locator("li[data-hidden=false]").first();
    const imageId = (await card.getAttribute("data-image-id")) ?? "";
    await card.getByRole("button", { name: "Hide", exact: true }).click();
    await expect.poll(async () => (await getImage(db, imageId)).isHidden).toBe(true);
    await expect
      .poll(() => page.locator(`li[data-image-id="${imageId}"]`).getAttribute("data-hidden"))
      .toBe("true");
  });

  it("issues an API key that works on the public API until it is revoked", async () => {
    await page.goto("/admin/api-keys");
    await page.getByLabel("Name").fill("embed test");
    await page.getByLabel("Acts as (account email)").fill(rater.email);
    await page.getByRole("button", { name: "Issue key" }).click();
    const key = (await page.getByTestId("new-api-key").textContent()) ?? "";
    expect(key).toMatch(/^lw_/);
    const auth = { authorization: `Bearer ${key}` };

    const feed = await fetch(`${e2e.baseUrl}/api/v1/feed?limit=3`, { headers: auth });
    expect(feed.status).toBe(200);
    const body = (await feed.json()) as { apiVersion: number; images: { id: string; url: string }[] };
    expect(body.apiVersion).toBe(1);
    expect(body.images.length).toBeGreaterThan(0);
    const imageId = body.images[0]?.id ?? "";

    const vote = { imageId, value: "like", requestId: randomUUID() };
    const post = (b: string, headers: Record<string, string> = auth) =>
      fetch(`${e2e.baseUrl}/api/v1/votes`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: b,
      });
    const first = await post(JSON.stringify(vote));
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ vote: { value: "like", duplicate: false } });
    expect(await (await post(JSON.stringify(vote))).json()).toMatchObject({ vote: { duplicate: true } });
    expect((await post("{not json")).status).toBe(400);
    expect((await post(JSON.stringify({ ...vote, value: "love" }))).status).toBe(400);
    expect((await post(JSON.stringify({ pad: "x".repeat(40_000) }))).status).toBe(413);
    // Streamed without a Content-Length: refused once 16 kB have arrived, as the same JSON error.
    const chunks = [new TextEncoder().encode(`{"pad":"${"y".repeat(30_000)}"}`)];
    const streamed = await fetch(`${e2e.baseUrl}/api/v1/votes`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: new ReadableStream({
        pull(c) {
          const next = chunks.shift();
          if (next) c.enqueue(next);
          else c.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
    const del = await fetch(`${e2e.baseUrl}/api/v1/votes`, { method: "DELETE", headers: auth });
    expect(del.status).toBe(405);
    expect(del.headers.get("allow")).toBe("GET, POST");
    expect((await post(JSON.stringify(vote), {})).status).toBe(401);
    const mine = (await (await fetch(`${e2e.baseUrl}/api/v1/votes`, { headers: auth })).json()) as {
      votes: { imageId: string }[];
    };
    expect(mine.votes.map((v) => v.imageId)).toContain(imageId);

    await page.getByRole("button", { name: "Revoke" }).first().click();
    await expect
      .poll(async () => (await fetch(`${e2e.baseUrl}/api/v1/feed`, { headers: auth })).status)
      .toBe(401);
  });
});

describe("image route", () => {
  it("serves PNGs by content hash with immutable caching; 400 for a malformed key, 404 for an unknown one", async () => {
    const res = await fetch(`${e2e.baseUrl}/api/v1/feed`, { headers: {} });
    expect(res.status).toBe(401);
    const key = (await listImagesForModeration(db, { limit: 1 })).images[0]?.blobKey ?? "";
    const img = await fetch(`${e2e.baseUrl}/api/images/${key}`);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(img.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(
      Buffer.from(await img.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe("PNG");
    expect((await fetch(`${e2e.baseUrl}/api/images/not-a-key`)).status).toBe(400);
    expect((await fetch(`${e2e.baseUrl}/api/images/${"0".repeat(64)}`)).status).toBe(404);
  });

  it("refuses an oversized tRPC body with 413, not a 500", async () => {
    const r = await fetch(`${e2e.baseUrl}/api/trpc/feedback.vote`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ json: { pad: "x".repeat(200_000) } }),
    });
    expect(r.status).toBe(413);
  });
});

describe("blocking", () => {
  it("a vote that fails rolls back in the UI (the image stays, the error is shown); a blocked account cannot sign in", async () => {
    const blocked = {
      email: `blocked-${randomUUID().slice(0, 8)}@example.test`,
      password: "blocked-password-1",
    };
    await createUser(db, {
      email: blocked.email,
      passwordHash: await hashPassword(blocked.password),
      trainingConsent: true,
    });
    const context = await browser.newContext({ baseURL: e2e.baseUrl });
    const page = await context.newPage();
    await page.goto("/signin");
    await page.getByLabel("Email").fill(blocked.email);
    await page.getByLabel("Password").fill(blocked.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${e2e.baseUrl}/`);
    const shown = await feedImageId(page);

    const admin = await adminContext.newPage();
    await admin.goto("/admin/users");
    await admin.getByLabel("Search users").fill(blocked.email);
    const row = admin.locator(`tr[data-email="${blocked.email}"]`);
    await row.getByRole("button", { name: "Block", exact: true }).click();
    await expect.poll(async () => (await findUserByEmail(db, blocked.email))?.blockedAt).not.toBeNull();
    await admin.close();

    await page.keyboard.press("l");
    await expect.poll(() => alertText(page)).toContain("Your vote was not saved");
    await expect.poll(() => page.getByTestId("feed").getAttribute("data-image-id")).toBe(shown);
    const user = await findUserByEmail(db, blocked.email);
    expect(await findVote(db, { userId: user?.id ?? "", imageId: shown })).toBeNull();

    await context.clearCookies();
    await page.goto("/signin");
    await page.getByLabel("Email").fill(blocked.email);
    await page.getByLabel("Password").fill(blocked.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => alertText(page)).toContain("this account is blocked");
    await context.close();
  });
});

describe("sign-in limits", () => {
  it("refuses further password guesses for an account once its bucket is empty", async () => {
    // The bucket refills continuously (6/min), so the right password sent ~1 s after the last refusal can find a
    // refilled token and sign in (seen in CI). That race is not the property under test: each try drains the bucket
    // afresh in a new context, and the limiter must refuse the right password in at least one of three tries — a
    // limiter that let it through would sign in all three times.
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 3 && !outcomes.includes("refused"); attempt++) {
      const context = await browser.newContext({ baseURL: e2e.baseUrl });
      const page = await context.newPage();
      await page.goto("/signin");
      let last: string | null = null;
      for (let i = 0; i < 14 && !last?.includes("too many"); i++) {
        await page.getByLabel("Email").fill(rater.email);
        await page.getByLabel("Password").fill(`guess-${attempt}-${i}`);
        await page.getByRole("button", { name: "Sign in" }).click();
        await expect.poll(() => page.getByRole("button", { name: "Sign in" }).isEnabled()).toBe(true);
        last = await alertText(page);
      }
      expect(last).toContain("too many sign-in attempts");
      // Even the right password is refused until the bucket refills.
      await page.getByLabel("Password").fill(rater.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      let outcome: string | null = null;
      await expect
        .poll(
          async () => {
            if (!new URL(page.url()).pathname.startsWith("/signin")) outcome = "signed in";
            else if ((await alertText(page))?.includes("too many sign-in attempts")) outcome = "refused";
            return outcome;
          },
          { timeout: 15_000 },
        )
        .not.toBeNull();
      outcomes.push(outcome ?? "none");
      await context.close();
    }
    expect(outcomes).toContain("refused");
  }, 180_000);
});
