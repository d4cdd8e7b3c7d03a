// Every tRPC procedure, called through the real router against a real (throwaway) PostgreSQL: the authorization
// matrix (allowed roles succeed; others get UNAUTHORIZED/FORBIDDEN), malformed input never yields a 500, votes
// are idempotent per request id and committed once acknowledged, and the per-user limits answer TOO_MANY_REQUESTS.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import {
  createRound,
  createSchedule,
  assignVariant,
  createDb,
  createExperiment,
  findVote,
  listFeedbackEvents,
  setProductionAlias,
  startExperiment,
  stopExperiment,
  type Db,
  type Image,
  type User,
} from "@likewise/db";
import { openJobQueue, type JobQueue } from "@likewise/db/queue";
import {
  createTestImage,
  createTestModelVersion,
  createTestPrompt,
  createTestUser,
} from "@likewise/db/testing";
import type { UserRole } from "@likewise/db/enums";
import { parseManifest, Tokenizer } from "@likewise/serving";

import { createRateLimiters, type RateLimiters } from "../rate-limit";
import type { WebServices } from "../services";
import type { TrpcContext, Viewer } from "./context";
import { appRouter, createCaller } from "./root";
import type { Access } from "./trpc";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../../../..");
const manifest = JSON.parse(readFileSync(join(ROOT, "models/base/manifest.json"), "utf8")) as Record<
  string,
  unknown
>;
const parsedManifest = parseManifest(manifest);

const handle = createDb(inject("databaseUrl"), { max: 6 });
const db: Db = handle.db;
let queue: JobQueue;
let modelVersionId: string;
const users = {} as Record<UserRole, User>;
let target: User; // the user admin procedures act on
let images: Image[] = [];

function services(): WebServices {
  return {
    vocabulary: () =>
      Promise.resolve({
        tokenizer: new Tokenizer(parsedManifest.vocab, parsedManifest.contextLength),
        modelVersionId,
      }),
    queue: () => Promise.resolve(queue),
    experimentHosts: { timeoutMs: 2_000, pollMs: 100, seenWithinMs: 30_000, hostKinds: ["routers-test"] },
  };
}

function ctx(viewer: Viewer | null, limits: RateLimiters = createRateLimiters(1000)): TrpcContext {
  return { db, viewer, ip: `10.0.0.${Math.floor(Math.random() * 250)}`, limits, services: services() };
}

function as(role: UserRole | null, limits?: RateLimiters) {
  const u = role ? users[role] : null;
  return createCaller(ctx(u ? { id: u.id, email: u.email, role: u.role } : null, limits));
}

beforeAll(async () => {
  queue = await openJobQueue(inject("databaseUrl"), { role: "producer" });
  const version = await createTestModelVersion(db, { manifest });
  modelVersionId = version.id;
  await setProductionAlias(db, { modelVersionId });
  for (const role of ["rater", "analyst", "admin"] as const) users[role] = await createTestUser(db, { role });
  target = await createTestUser(db);
  const prompt = await createTestPrompt(db, { text: knownPrompt() });
  images = [];
  for (let i = 0; i < 40; i++)
    images.push(await createTestImage(db, { modelVersionId, promptId: prompt.id }));
}, 120_000);

afterAll(async () => {
  await queue.stop();
  await handle.close();
});

type Call = (caller: ReturnType<typeof createCaller>) => Promise<unknown>;
const img = (i: number) => images[i % images.length]?.id ?? "";
let n = 0;

const SIZES = ["small", "medium", "large"];
const COLOURS = ["red", "blue", "green", "yellow", "orange", "purple", "black", "white"];
const SHAPES = ["circle", "square", "triangle", "star", "ring"];
const PLACES = ["top", "bottom", "left", "right", "centre"];
const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)] as T;
/** A random prompt made only of words the model knows (curated prompt text is unique). */
function knownPrompt(): string {
  return `a ${pick(SIZES)} ${pick(COLOURS)} ${pick(SHAPES)} on a ${pick(COLOURS)} background at the ${pick(PLACES)}`;
}

/**
 * Who may call what: the product's policy, written independently of the routers' declarations. A new procedure
 * fails the first test below until it is listed here and has a sample call in VALID.
 */
const POLICY: Record<string, Access> = {
  "auth.signUp": "public",
  "account.me": "public",
  "account.setConsent": "rater",
  "feed.next": "rater",
  "feed.page": "rater",
  "feedback.vote": "rater",
  "feedback.mine": "rater",
  "prompts.vocabulary": "rater",
  "prompts.submit": "rater",
  "prompts.generation": "rater",
  "prompts.mine": "rater",
  "prompts.images": "rater",
  "admin.dashboard.stats": "analyst",
  "admin.users.list": "analyst",
  "admin.users.setRole": "admin",
  "admin.users.setBlocked": "admin",
  "admin.users.setExcluded": "admin",
  "admin.moderation.images": "analyst",
  "admin.moderation.setHidden": "admin",
  "admin.prompts.list": "analyst",
  "admin.prompts.add": "admin",
  "admin.prompts.setActive": "admin",
  "admin.prompts.import": "admin",
  "admin.apiKeys.list": "admin",
  "admin.apiKeys.create": "admin",
  "admin.apiKeys.revoke": "admin",
  "admin.experiments.list": "analyst",
  "admin.experiments.modelVersions": "analyst",
  "admin.experiments.results": "analyst",
  "admin.experiments.contactSheets": "analyst",
  "admin.experiments.create": "analyst",
  "admin.experiments.start": "admin",
  "admin.experiments.stop": "admin",
  "admin.experiments.setWeights": "admin",
  "admin.experiments.newPhase": "admin",
  "admin.experiments.decide": "admin",
  "admin.rounds.list": "analyst",
  "admin.rounds.get": "analyst",
  "admin.rounds.runNow": "admin",
  "admin.rounds.cancel": "admin",
  "admin.schedules.list": "analyst",
  "admin.schedules.create": "admin",
  "admin.schedules.update": "admin",
  "admin.schedules.runNow": "admin",
};

/** A valid call of every procedure. Keys must cover the router exactly (checked below). */
const VALID: Record<string, Call> = {
  "auth.signUp": (c) =>
    c.auth.signUp({
      email: `new-${randomUUID().slice(0, 8)}@example.test`,
      password: "correct horse",
      trainingConsent: true,
    }),
  "account.me": (c) => c.account.me(),
  "account.setConsent": (c) => c.account.setConsent({ consent: true }),
  "feed.next": (c) => c.feed.next({ excludeIds: [] }),
  "feed.page": (c) => c.feed.page({ limit: 5 }),
  "feedback.vote": (c) => c.feedback.vote({ imageId: img(n++), value: "like", requestId: randomUUID() }),
  "feedback.mine": (c) => c.feedback.mine({ limit: 5 }),
  "prompts.vocabulary": (c) => c.prompts.vocabulary(),
  "prompts.submit": (c) => c.prompts.submit({ text: "a small blue star on a white background" }),
  "prompts.generation": async (c) => {
    const { requestId } = await c.prompts.submit({ text: "a red square" });
    return c.prompts.generation({ requestId });
  },
  "prompts.mine": (c) => c.prompts.mine(),
  "prompts.images": (c) => c.prompts.images({ promptId: images[0]?.promptId ?? "" }),
  "admin.dashboard.stats": (c) => c.admin.dashboard.stats(),
  "admin.users.list": (c) => c.admin.users.list({ limit: 5 }),
  "admin.users.setRole": (c) => c.admin.users.setRole({ userId: target.id, role: "rater" }),
  "admin.users.setBlocked": (c) => c.admin.users.setBlocked({ userId: target.id, blocked: false }),
  "admin.users.setExcluded": (c) => c.admin.users.setExcluded({ userId: target.id, excluded: false }),
  "admin.moderation.images": (c) => c.admin.moderation.images({ limit: 5 }),
  "admin.moderation.setHidden": (c) => c.admin.moderation.setHidden({ imageId: img(39), hidden: false }),
  "admin.prompts.list": (c) => c.admin.prompts.list({ limit: 5 }),
  "admin.prompts.add": (c) => c.admin.prompts.add({ text: knownPrompt() }),
  "admin.prompts.setActive": (c) =>
    c.admin.prompts.setActive({ promptId: images[0]?.promptId ?? "", isActive: true }),
  "admin.prompts.import": (c) => c.admin.prompts.import({ text: `${knownPrompt()}\n# comment\n` }),
  "admin.apiKeys.list": (c) => c.admin.apiKeys.list(),
  "admin.apiKeys.create": (c) => c.admin.apiKeys.create({ name: "embed", userEmail: target.email }),
  "admin.apiKeys.revoke": async (c) => {
    const key = await c.admin.apiKeys.create({ name: "to revoke", userEmail: target.email });
    return c.admin.apiKeys.revoke({ id: key.id });
  },
  "admin.experiments.list": (c) => c.admin.experiments.list(),
  "admin.experiments.modelVersions": (c) => c.admin.experiments.modelVersions(),
  "admin.experiments.results": async (c) =>
    c.admin.experiments.results({ experimentId: (await draftExperiment()).id }),
  "admin.experiments.contactSheets": async (c) =>
    c.admin.experiments.contactSheets({ experimentId: (await draftExperiment()).id }),
  "admin.experiments.create": (c) =>
    c.admin.experiments.create({
      name: `exp-${randomUUID()}`,
      variants: [
        { name: "control", modelVersionId, weight: 1, isControl: true },
        { name: "same", modelVersionId, weight: 1 },
      ],
    }),
  // No serving host of the test's kind is live, so nothing to wait for; stopped right after so the feed tests'
  // single-experiment assumptions hold.
  "admin.experiments.start": async (c) => {
    const exp = await draftExperiment();
    await c.admin.experiments.start({ experimentId: exp.id });
    return stopExperiment(db, { experimentId: exp.id });
  },
  "admin.experiments.stop": async (c) => {
    const exp = await draftExperiment();
    await startExperiment(db, { experimentId: exp.id });
    return c.admin.experiments
      .stop({ experimentId: exp.id })
      .finally(() => stopExperiment(db, { experimentId: exp.id }).catch(() => undefined));
  },
  "admin.experiments.setWeights": async (c) => {
    const exp = await draftExperiment();
    return c.admin.experiments.setWeights({
      experimentId: exp.id,
      weights: { [exp.variants[0]?.id ?? ""]: 2 },
    });
  },
  "admin.experiments.newPhase": async (c) => {
    const exp = await draftExperiment();
    await startExperiment(db, { experimentId: exp.id });
    return c.admin.experiments
      .newPhase({ experimentId: exp.id, reason: "matrix" })
      .finally(() => stopExperiment(db, { experimentId: exp.id }).catch(() => undefined));
  },
  "admin.experiments.decide": async (c) => {
    const exp = await draftExperiment();
    await startExperiment(db, { experimentId: exp.id });
    await stopExperiment(db, { experimentId: exp.id });
    return c.admin.experiments.decide({ experimentId: exp.id, action: "rollback", reason: "matrix" });
  },
  "admin.rounds.list": (c) => c.admin.rounds.list({ limit: 5 }),
  "admin.rounds.get": async (c) =>
    c.admin.rounds.get({
      roundId: (await createRound(db, { trigger: "manual", parentModelVersionId: modelVersionId })).id,
    }),
  "admin.rounds.runNow": (c) =>
    c.admin.rounds.runNow({ parentModelVersionId: modelVersionId, config: { steps: 1 } }),
  "admin.rounds.cancel": async (c) =>
    c.admin.rounds.cancel({
      roundId: (await createRound(db, { trigger: "manual", parentModelVersionId: modelVersionId })).id,
    }),
  "admin.schedules.list": (c) => c.admin.schedules.list(),
  "admin.schedules.create": (c) =>
    c.admin.schedules.create({
      name: `nightly-${randomUUID()}`,
      cron: "0 2 * * *",
      timezone: "Europe/Berlin",
    }),
  "admin.schedules.update": async (c) =>
    c.admin.schedules.update({
      scheduleId: (await createSchedule(db, { name: `s-${randomUUID()}`, isDataTriggered: true })).id,
      minNewLabels: 100,
    }),
  "admin.schedules.runNow": async (c) =>
    c.admin.schedules.runNow({
      scheduleId: (await createSchedule(db, { name: `s-${randomUUID()}`, isDataTriggered: true })).id,
    }),
};

/** A draft between production and itself (control keeps production where it is on a rollback). */
function draftExperiment() {
  return createExperiment(db, {
    name: `exp-${randomUUID()}`,
    // This file's population slice (one running experiment per slice; other files run theirs meanwhile).
    populationOffset: 80,
    populationPercent: 10,
    variants: [
      { name: "control", modelVersionId, weight: 1, isControl: true },
      { name: "same", modelVersionId, weight: 1 },
    ],
  });
}

const RANK: Record<Access, number> = { public: -1, rater: 0, analyst: 1, admin: 2 };
type ProcedureWithMeta = { _def: { meta?: { access?: Access } } };
/** Flat path → procedure map. Safe: tRPC keeps every procedure (with its meta) under `_def.procedures` by dotted path. */
function listProcedures(): [string, ProcedureWithMeta][] {
  return Object.entries(appRouter._def.procedures as unknown as Record<string, ProcedureWithMeta>);
}
const procedures = listProcedures();

function codeOf(e: unknown): string {
  if (e instanceof TRPCError) return e.code;
  throw e;
}

describe("authorization matrix", () => {
  it("every procedure declares the access the policy gives it, and has a valid sample call here", () => {
    const declared = Object.fromEntries(procedures.map(([path, proc]) => [path, proc._def.meta?.access]));
    expect(declared).toEqual(POLICY);
    expect(Object.keys(VALID).sort()).toEqual(procedures.map(([p]) => p).sort());
  });

  const roles = [null, "rater", "analyst", "admin"] as const;
  for (const [path, proc] of procedures) {
    const access = POLICY[path] ?? proc._def.meta?.access ?? "admin";
    it(`${path} (${access}): allowed roles succeed, others are refused`, async () => {
      const call = VALID[path];
      if (!call) throw new Error(`no sample call for ${path}`);
      for (const role of roles) {
        const allowed = access === "public" || (role !== null && RANK[role] >= RANK[access]);
        const outcome = await call(as(role)).then(
          () => "ok",
          (e: unknown) => codeOf(e),
        );
        expect(`${role ?? "anonymous"}: ${outcome}`).toBe(
          `${role ?? "anonymous"}: ${allowed ? "ok" : role === null ? "UNAUTHORIZED" : "FORBIDDEN"}`,
        );
      }
    });
  }

  it("a blocked account is signed out for the API (the request context drops it)", async () => {
    const { viewerFromUserId } = await import("../auth/viewer");
    const u = await createTestUser(db);
    await as("admin").admin.users.setBlocked({ userId: u.id, blocked: true });
    expect(await viewerFromUserId(db, u.id)).toBeNull();
    await as("admin").admin.users.setBlocked({ userId: u.id, blocked: false });
    expect(await viewerFromUserId(db, u.id)).toMatchObject({ id: u.id, role: "rater" });
    expect(await viewerFromUserId(db, randomUUID())).toBeNull();
  });

  it("an admin cannot demote or block themselves", async () => {
    const admin = users.admin;
    expect(
      codeOf(
        await as("admin")
          .admin.users.setRole({ userId: admin.id, role: "rater" })
          .catch((e: unknown) => e),
      ),
    ).toBe("PRECONDITION_FAILED");
  });
});

const JUNK: unknown[] = [
  undefined,
  null,
  42,
  "x",
  [],
  {},
  { imageId: "not-a-uuid", value: "love", requestId: 7 },
  { text: "x".repeat(100_000), email: "nope", password: 1, trainingConsent: "yes" },
  { cursor: { createdAt: "yesterday", id: "1" }, limit: 1e9, excludeIds: Array(1000).fill("a") },
  { userId: "'; drop table vote; --", role: "root", blocked: "no", promptId: {}, id: null },
  { text: "\u0000".repeat(10), name: "", userEmail: "@" },
];

describe("malformed input", () => {
  for (const [path] of procedures) {
    it(`${path}: never an INTERNAL_SERVER_ERROR`, async () => {
      const [head, ...rest] = path.split(".");
      for (const input of JUNK) {
        // Walk the caller to the procedure by path; call it with arbitrary input as a client could send it.
        let fn: unknown = as("admin");
        for (const part of [head, ...rest]) fn = (fn as Record<string, unknown>)[part ?? ""];
        const outcome = await (fn as (i: unknown) => Promise<unknown>)(input).then(
          () => "ok",
          (e: unknown) => codeOf(e),
        );
        expect(outcome, `${path} with ${JSON.stringify(input)?.slice(0, 80)}`).not.toBe(
          "INTERNAL_SERVER_ERROR",
        );
      }
    });
  }

  it("gives BAD_REQUEST with the reason for bad votes, unknown words and oversize prompts", async () => {
    const c = as("rater");
    const bad = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (e: unknown) => (e instanceof TRPCError ? `${e.code}: ${e.message}` : "?"),
      );
    expect(await bad(c.feedback.vote({ imageId: "x", value: "like", requestId: randomUUID() }))).toMatch(
      /^BAD_REQUEST/,
    );
    expect(await bad(c.prompts.submit({ text: "a red dragon and a blue unicorn" }))).toBe(
      'BAD_REQUEST: the model does not know the words "dragon", "unicorn"',
    );
    expect(await bad(c.prompts.submit({ text: "red ".repeat(60) }))).toMatch(
      /^BAD_REQUEST: .*at most 200 characters|^BAD_REQUEST/,
    );
    expect(await bad(c.prompts.submit({ text: "red ".repeat(20) }))).toBe(
      "BAD_REQUEST: 20 words; the model reads at most 16",
    );
    expect(
      await bad(c.feedback.vote({ imageId: randomUUID(), value: "like", requestId: randomUUID() })),
    ).toMatch(/^NOT_FOUND/);
  });
});

describe("votes", () => {
  it("a double click (same request id, concurrently) and a late retry store one vote and one event", async () => {
    const rater = await createTestUser(db);
    const c = createCaller(ctx({ id: rater.id, email: rater.email, role: "rater" }));
    const image = await createTestImage(db, { modelVersionId });
    const req = { imageId: image.id, value: "like" as const, requestId: randomUUID() };
    const results = await Promise.all([c.feedback.vote(req), c.feedback.vote(req), c.feedback.vote(req)]);
    expect(results.filter((r) => !r.isDuplicate)).toHaveLength(1);
    // Acknowledged ⇒ committed: a separate connection sees it.
    const other = createDb(inject("databaseUrl"), { max: 1 });
    try {
      expect(await findVote(other.db, { userId: rater.id, imageId: image.id })).toMatchObject({
        value: "like",
      });
    } finally {
      await other.close();
    }
    await c.feedback.vote({ imageId: image.id, value: null, requestId: randomUUID() });
    expect(await c.feedback.vote(req)).toMatchObject({ isDuplicate: true, value: null }); // the late retry changes nothing
    const events = await listFeedbackEvents(db, { userId: rater.id, imageId: image.id });
    expect(events.map((e) => e.newValue)).toEqual(["like", "cleared"]);
  });

  it("feed.next skips rated and excluded images and logs an exposure; my votes lists the change", async () => {
    const rater = await createTestUser(db);
    const c = createCaller(ctx({ id: rater.id, email: rater.email, role: "rater" }));
    const first = await c.feed.next({ excludeIds: [] });
    expect(first.modelVersionId).toBe(modelVersionId);
    const a = first.image?.id ?? "";
    await c.feedback.vote({ imageId: a, value: "dislike", requestId: randomUUID() });
    const second = await c.feed.next({ excludeIds: [] });
    expect(second.image?.id).not.toBe(a);
    const third = await c.feed.next({ excludeIds: [second.image?.id ?? ""] });
    expect([a, second.image?.id]).not.toContain(third.image?.id);
    const mine = await c.feedback.mine({ limit: 10 });
    expect(mine.votes.map((v) => [v.imageId, v.value])).toEqual([[a, "dislike"]]);
    // Every image handed out was logged as shown, once per showing.
    const shown = await handle.sql<{ image_id: string }[]>`
      select image_id from exposure where user_id = ${rater.id} order by id`;
    expect(shown.map((r) => r.image_id)).toEqual([a, second.image?.id, third.image?.id]);
    const page = await c.feed.page({ limit: 4 });
    const [{ n } = { n: 0 }] = await handle.sql<{ n: number }[]>`
      select count(*)::int as n from exposure where user_id = ${rater.id}`;
    expect(n).toBe(3 + page.images.length);
  });

  it("answers TOO_MANY_REQUESTS beyond the vote bucket", async () => {
    const rater = await createTestUser(db);
    const limits = createRateLimiters(1 / 30); // capacity 2 votes
    const c = createCaller(ctx({ id: rater.id, email: rater.email, role: "rater" }, limits));
    const codes = [];
    for (let i = 0; i < 4; i++) {
      codes.push(
        await c.feedback.vote({ imageId: img(i), value: "like", requestId: randomUUID() }).then(
          () => "ok",
          (e: unknown) => codeOf(e),
        ),
      );
    }
    expect(codes).toEqual(["ok", "ok", "TOO_MANY_REQUESTS", "TOO_MANY_REQUESTS"]);
  });
});

describe("prompts", () => {
  it("answers TOO_MANY_REQUESTS beyond the prompt bucket, and names unknown words before counting", async () => {
    const u = await createTestUser(db);
    const c = createCaller(ctx({ id: u.id, email: u.email, role: "rater" }, createRateLimiters(0.2))); // 1 prompt
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (e: unknown) => codeOf(e),
      );
    expect(await code(c.prompts.submit({ text: "a red unicorn" }))).toBe("BAD_REQUEST");
    expect(await code(c.prompts.submit({ text: "a red circle" }))).toBe("ok");
    expect(await code(c.prompts.submit({ text: "a blue circle" }))).toBe("TOO_MANY_REQUESTS");
  });

  it("queues a generation for a valid prompt and reports it to its owner only", async () => {
    const c = as("rater");
    const r = await c.prompts.submit({ text: "a large yellow triangle in the centre" });
    const g = await c.prompts.generation({ requestId: r.requestId });
    expect(g).toMatchObject({ status: "queued", progress: 0, images: [] });
    expect(
      codeOf(
        await as("analyst")
          .prompts.generation({ requestId: r.requestId })
          .catch((e: unknown) => e),
      ),
    ).toBe("NOT_FOUND");
    expect((await c.prompts.mine()).some((p) => p.id === r.promptId)).toBe(true);
  });

  it("imports a list with a result per line", async () => {
    const p = knownPrompt();
    const text = [p, "", "# skip me", "a red wyvern", p, "x".repeat(300)].join("\n");
    const r = await as("admin").admin.prompts.import({ text });
    expect(r.results.map((x) => [x.line, x.status])).toEqual([
      [1, "added"],
      [4, "error"],
      [5, "duplicate"],
      [6, "error"],
    ]);
    expect(r.results[1]?.message).toBe('the model does not know the word "wyvern"');
  });
});

describe("feed under an experiment", () => {
  it("serves the assigned variant's images (sticky) and logs exposures under the experiment and variant", async () => {
    const treatment = await createTestModelVersion(db, { manifest });
    const treatmentImages = [];
    for (let i = 0; i < 3; i++)
      treatmentImages.push(await createTestImage(db, { modelVersionId: treatment.id }));
    // A tiny population so other tests' users are (practically) never bucketed in; this user is assigned directly.
    const exp = await createExperiment(db, {
      name: `feed-${randomUUID().slice(0, 8)}`,
      populationOffset: 80,
      populationPercent: 0.001,
      variants: [
        { name: "control", modelVersionId, weight: 1, isControl: true },
        { name: "treatment", modelVersionId: treatment.id, weight: 1 },
      ],
    });
    await startExperiment(db, { experimentId: exp.id });
    const variant = exp.variants.find((v) => v.name === "treatment");
    const u = await createTestUser(db);
    await assignVariant(db, { experimentId: exp.id, userId: u.id, variantId: variant?.id ?? "" });
    try {
      const c = createCaller(ctx({ id: u.id, email: u.email, role: "rater" }));
      const first = await c.feed.next({ excludeIds: [] });
      expect(first.modelVersionId).toBe(treatment.id);
      expect(treatmentImages.map((i) => i.id)).toContain(first.image?.id);
      const again = await c.feed.next({ excludeIds: [first.image?.id ?? ""] });
      expect(again.modelVersionId).toBe(treatment.id);
      const rows = await handle.sql<{ experiment_id: string; variant_id: string }[]>`
        select experiment_id, variant_id from exposure where user_id = ${u.id}`;
      expect(rows).toEqual([
        { experiment_id: exp.id, variant_id: variant?.id },
        { experiment_id: exp.id, variant_id: variant?.id },
      ]);
    } finally {
      await stopExperiment(db, { experimentId: exp.id });
    }
    // Once the experiment stops, the same user is back on production.
    const after = await createCaller(ctx({ id: u.id, email: u.email, role: "rater" })).feed.next({
      excludeIds: [],
    });
    expect(after.modelVersionId).toBe(modelVersionId);
  });
});

describe("rounds and schedules", () => {
  it("run now queues a round for the worker; cancel ends it with its labels released; a second cancel is refused", async () => {
    const round = await as("admin").admin.rounds.runNow({
      parentModelVersionId: modelVersionId,
      config: { steps: 3 },
    });
    expect(round).toMatchObject({
      status: "queued",
      trigger: "manual",
      requestedBy: users.admin.id,
      objectiveConfig: { steps: 3 },
    });
    const { round: ended } = await as("admin").admin.rounds.cancel({ roundId: round.id });
    expect(ended.status).toBe("canceled");
    expect(ended.labelsReleasedAt).not.toBeNull();
    await expect(as("admin").admin.rounds.cancel({ roundId: round.id })).rejects.toMatchObject({
      code: "PRECONDITION_FAILED",
    });
    const page = await as("analyst").admin.rounds.get({ roundId: round.id });
    expect(page).toMatchObject({ round: { id: round.id }, labelCount: 0, labelMix: [] });
  });

  it("schedules: bad cron, time zone, band or policy shape are BAD_REQUEST; run now carries the schedule's config and policy", async () => {
    const admin = as("admin").admin.schedules;
    for (const bad of [
      { name: "x", cron: "every night" },
      { name: "x", cron: "0 2 * * *", timezone: "Mars/Olympus" },
      { name: "x", isDataTriggered: true, classBalanceMin: 0.8, classBalanceMax: 0.2 },
      { name: "x", isDataTriggered: true, promotionPolicy: "experiment" as const },
      { name: "x" },
    ]) {
      await expect(admin.create(bad)).rejects.toMatchObject({ code: "BAD_REQUEST" });
    }
    const s = await admin.create({
      name: `nightly-${randomUUID()}`,
      cron: "0 2 * * *",
      timezone: "Europe/Berlin",
      minNewLabels: 500,
      roundConfig: { steps: 50 },
      promotionPolicy: "experiment",
      experimentTrafficPercent: 10,
    });
    expect(s).toMatchObject({ timezone: "Europe/Berlin", cron: "0 2 * * *", minNewLabels: 500 });
    const round = await admin.runNow({ scheduleId: s.id });
    expect(round).toMatchObject({
      scheduleId: s.id,
      objectiveConfig: { steps: 50, promotion: { policy: "experiment", trafficPercent: 10 } },
    });
    await as("admin").admin.rounds.cancel({ roundId: round.id });
    expect((await admin.update({ scheduleId: s.id, isEnabled: false })).isEnabled).toBe(false);
  });
});
