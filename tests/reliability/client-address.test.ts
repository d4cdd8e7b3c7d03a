// Per-IP rate limits over HTTP against the production build cannot be dodged with a forged X-Forwarded-For.
// Two servers of the same build: one as installed by default (no proxy trusted: the socket's address counts, any
// X-Forwarded-For or X-Real-IP the client sends is ignored) and one with LIKEWISE_TRUST_PROXY=1, where this test
// plays the reverse proxy in front (it appends the address it saw, so only the right-most entry counts).
// The limits under test: sign-up per IP (10 at once, 2/min) and sign-in per IP (10 at once, 6/min).
import { request } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

import { signIn } from "./helpers/http.ts";
import { createWebApp, type WebApp } from "./helpers/web-app.ts";

const url = inject("databaseUrl");
const tag = Date.now().toString(36);
const homes: string[] = [];
let direct: WebApp;
let proxied: WebApp;
let n = 0;

type Reply = { status: number; code: string | null };

/** auth.signUp over a fresh connection from `localAddress` (127.0.0.x: Linux routes all of 127/8 to loopback). */
function signUp(web: WebApp, headers: Record<string, string>, localAddress = "127.0.0.1"): Promise<Reply> {
  const body = JSON.stringify({
    json: {
      email: `client-address-${tag}-${n++}@example.test`,
      password: "client-address-password-1",
      trainingConsent: false,
    },
  });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: web.port,
        localAddress,
        method: "POST",
        path: "/api/trpc/auth.signUp",
        agent: false,
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        },
        timeout: 60_000,
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => {
          let code: string | null;
          try {
            const j = JSON.parse(text) as { error?: { json?: { data?: { code?: string } } } };
            code = j.error?.json?.data?.code ?? null;
          } catch {
            code = `not JSON: ${text.slice(0, 200)}`;
          }
          resolve({ status: res.statusCode ?? 0, code });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("sign-up timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/** Sends `count` sign-ups at once; the bucket is taken on arrival, before the (slow) password hash. */
async function burst(count: number, send: (i: number) => Promise<Reply>) {
  const replies = await Promise.all(Array.from({ length: count }, (_, i) => send(i)));
  const accepted = replies.filter((r) => r.status === 200).length;
  const limited = replies.filter((r) => r.status === 429 && r.code === "TOO_MANY_REQUESTS").length;
  expect(replies.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
  return { accepted, limited };
}

beforeAll(async () => {
  const start = async (env: Record<string, string>) => {
    const home = mkdtempSync(join(tmpdir(), "likewise-client-address-"));
    homes.push(home);
    const web = await createWebApp({ databaseUrl: url, home, distDir: inject("webDistDir"), env });
    await web.start();
    return web;
  };
  [direct, proxied] = await Promise.all([start({}), start({ LIKEWISE_TRUST_PROXY: "1" })]);
}, 300_000);

afterAll(async () => {
  await Promise.all([direct?.stop(), proxied?.stop()]);
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

describe("per-IP limits and forged forwarding headers", () => {
  test("no proxy trusted (default): rotating X-Forwarded-For / X-Real-IP neither splits nor resets the sign-up bucket", async () => {
    // All at once (a hash takes seconds under load and the bucket refills 1 per 30 s): 14 with rotating forged
    // X-Forwarded-For and X-Real-IP, one with a forged chain, one without the headers.
    const forged = await burst(16, (i) =>
      signUp(
        direct,
        i < 14
          ? { "x-forwarded-for": `203.0.113.${i + 1}`, "x-real-ip": `198.51.100.${i + 1}` }
          : i === 14
            ? { "x-forwarded-for": "192.0.2.77, 192.0.2.78" }
            : {},
      ),
    );
    // One bucket for the one socket address: 10 at once (+1 if a refill of 2/min lands during the burst).
    expect(forged.accepted).toBeGreaterThanOrEqual(10);
    expect(forged.accepted).toBeLessThanOrEqual(11);
    expect(forged.limited).toBe(16 - forged.accepted);
    // Another socket address has a bucket of its own.
    expect(await signUp(direct, {}, "127.0.0.2")).toEqual({ status: 200, code: null });
  });

  test("no proxy trusted (default): rotating X-Forwarded-For does not dodge the sign-in limit per address", async () => {
    // Distinct unknown emails, so only the per-address bucket can refuse (10 at once, then 1 per 10 s).
    const t0 = performance.now();
    let attempts = 0;
    let limitedAt = 0;
    while (attempts < 20 && limitedAt === 0) {
      attempts++;
      const r = await signIn(direct.baseUrl, `nobody-${tag}-${attempts}@example.test`, "wrong-password-1", {
        headers: { "x-forwarded-for": `203.0.113.${100 + attempts}`, "x-real-ip": `198.51.100.${attempts}` },
      });
      expect(r.cookie).toBe("");
      if (decodeURIComponent(r.body.text).includes("too many sign-in attempts")) limitedAt = attempts;
    }
    const refills = Math.ceil((performance.now() - t0) / 10_000);
    expect(limitedAt).toBeGreaterThan(10);
    expect(limitedAt).toBeLessThanOrEqual(11 + refills);
  });

  test("one trusted proxy: the right-most X-Forwarded-For entry is the client; the entries it was sent are not", async () => {
    // The client 198.51.100.7 forges a different left part every time; the proxy (this test) appends its address.
    // At once, and one more carrying only the client's address.
    const forged = await burst(15, (i) =>
      signUp(proxied, {
        "x-forwarded-for": i < 14 ? `203.0.113.${i + 1}, 10.0.0.${i + 1}, 198.51.100.7` : "198.51.100.7",
      }),
    );
    expect(forged.accepted).toBeGreaterThanOrEqual(10);
    expect(forged.accepted).toBeLessThanOrEqual(11);
    expect(forged.limited).toBe(15 - forged.accepted);
    // Another client behind the same proxy is another bucket: the proxy's header is honoured.
    expect(await signUp(proxied, { "x-forwarded-for": "203.0.113.1, 198.51.100.8" })).toEqual({
      status: 200,
      code: null,
    });
    // IPv6 clients share a bucket per /64 (a host usually owns the whole /64): 10 addresses in one /64 use it up.
    const v6 = await burst(12, (i) =>
      signUp(proxied, { "x-forwarded-for": `2001:db8:1:2::${(i + 1).toString(16)}` }),
    );
    expect(v6.accepted).toBeGreaterThanOrEqual(10);
    expect(v6.accepted).toBeLessThanOrEqual(11);
    expect((await signUp(proxied, { "x-forwarded-for": "2001:db8:1:3::1" })).status).toBe(200);
  });
});
