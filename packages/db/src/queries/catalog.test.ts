// Users, prompts, images and exposures: the small verbs the web and serving issues boot on.
import { afterAll, describe, expect, inject, it } from "vitest";

import { createDb } from "../client.ts";
import { withDbErrors } from "../errors.ts";
import { experiment, variant } from "../schema/experiment.ts";
import { expectDbError } from "../testing/expect-db-error.ts";
import {
  createTestImage,
  createTestModelVersion,
  createTestPrompt,
  createTestUser,
  fakeSha256,
  uniqueId,
} from "../testing/index.ts";
import { getImage, listUnratedImages, recordImage, setImageHidden } from "./image.ts";
import { recordExposure } from "./exposure.ts";
import { createPrompt, listActivePrompts, setPromptActive } from "./prompt.ts";
import {
  createUser,
  findUserByEmail,
  findUserCredentialsByEmail,
  getUser,
  setTrainingConsent,
  setUserRole,
} from "./user.ts";
import {
  createSchedule,
  getSchedule,
  listSchedules,
  markScheduleTriggered,
  updateSchedule,
} from "./schedule.ts";
import { castVote, listUserVotes } from "./vote.ts";

const { db, close } = createDb(inject("databaseUrl"), { max: 4 });
afterAll(close);

describe("users", () => {
  it("keeps emails unique case-insensitively and finds them in any case", async () => {
    const local = uniqueId("Mixed");
    const user = await createUser(db, {
      email: ` ${local}@Example.TEST `,
      name: "Ada",
      passwordHash: "$2b$10$hash",
    });
    expect(user).toMatchObject({
      email: `${local.toLowerCase()}@example.test`,
      role: "rater",
      trainingConsent: false,
      trainingConsentChangedAt: null,
    });
    expect(user).not.toHaveProperty("passwordHash");
    expect((await findUserByEmail(db, `${local.toUpperCase()}@EXAMPLE.test`))?.id).toBe(user.id);
    expect(await findUserCredentialsByEmail(db, `${local}@example.test`)).toMatchObject({
      id: user.id,
      passwordHash: "$2b$10$hash",
    });
    expect(await findUserByEmail(db, "nobody@example.test")).toBeNull();
    const dup = await expectDbError(
      createUser(db, { email: `${local.toUpperCase()}@EXAMPLE.TEST` }),
      "CONFLICT",
    );
    expect(dup.constraint).toBe("user_email_lower_key");
    await expectDbError(createUser(db, { email: "not-an-email" }), "INVALID_INPUT");
  });

  it("stamps consent changes only when the flag changes, and rejects unknown roles and users", async () => {
    const user = await createTestUser(db, { trainingConsent: false });
    const granted = await setTrainingConsent(db, { userId: user.id, consent: true });
    expect(granted.trainingConsent).toBe(true);
    expect(granted.trainingConsentChangedAt).toBeInstanceOf(Date);
    const same = await setTrainingConsent(db, { userId: user.id, consent: true });
    expect(same.trainingConsentChangedAt).toEqual(granted.trainingConsentChangedAt);
    expect((await setTrainingConsent(db, { userId: user.id, consent: false })).trainingConsent).toBe(false);

    expect((await setUserRole(db, { userId: user.id, role: "analyst" })).role).toBe("analyst");
    const bad = JSON.parse('"superuser"') as "admin";
    await expectDbError(setUserRole(db, { userId: user.id, role: bad }), "INVALID_INPUT");
    await expectDbError(getUser(db, "00000000-0000-4000-8000-000000000077"), "NOT_FOUND");
    await expectDbError(
      setTrainingConsent(db, { userId: "00000000-0000-4000-8000-000000000077", consent: true }),
      "NOT_FOUND",
    );
  });
});

describe("prompts", () => {
  it("lists active prompts, deduplicates curated text and validates length", async () => {
    const text = `a green square ${uniqueId()}`;
    const p = await createPrompt(db, { text: `  ${text}  `, source: "curated" });
    expect(p).toMatchObject({ text, source: "curated", isActive: true });
    await expectDbError(createPrompt(db, { text, source: "curated" }), "CONFLICT");
    const user = await createTestUser(db);
    const own = await createPrompt(db, { text, source: "user", submittedBy: user.id });
    expect(own.submittedBy).toBe(user.id);
    await expectDbError(createPrompt(db, { text: "   ", source: "user" }), "INVALID_INPUT");
    await expectDbError(createPrompt(db, { text: "x".repeat(501), source: "user" }), "INVALID_INPUT");

    expect((await listActivePrompts(db)).map((x) => x.id)).toEqual(expect.arrayContaining([p.id, own.id]));
    await setPromptActive(db, { promptId: p.id, isActive: false });
    const active = await listActivePrompts(db, { source: "curated" });
    expect(active.map((x) => x.id)).not.toContain(p.id);
    expect(active.every((x) => x.source === "curated" && x.isActive)).toBe(true);
  });
});

describe("images", () => {
  it("records lineage, validates sampler settings and references", async () => {
    const version = await createTestModelVersion(db);
    const prompt = await createTestPrompt(db);
    const base = {
      promptId: prompt.id,
      modelVersionId: version.id,
      seed: 42,
      sampler: "ddim",
      steps: 25,
      guidance: 4.5,
      eta: 0,
      blobKey: fakeSha256(),
      width: 32,
      height: 32,
    };
    const img = await recordImage(db, base);
    expect(await getImage(db, img.id)).toMatchObject({ ...base, isHidden: false });
    await expectDbError(recordImage(db, { ...base, steps: 0 }), "INVALID_INPUT");
    await expectDbError(recordImage(db, { ...base, guidance: -1 }), "INVALID_INPUT");
    await expectDbError(recordImage(db, { ...base, blobKey: "not-a-hash" }), "INVALID_INPUT");
    await expectDbError(recordImage(db, { ...base, modelVersionId: "unknown-version" }), "NOT_FOUND");
    await expectDbError(
      recordImage(db, { ...base, promptId: "00000000-0000-4000-8000-000000000055" }),
      "NOT_FOUND",
    );
  });

  it("feeds a user the visible images of one version they have not rated yet", async () => {
    const version = await createTestModelVersion(db);
    const user = await createTestUser(db);
    const [a, b, c] = [
      await createTestImage(db, { modelVersionId: version.id }),
      await createTestImage(db, { modelVersionId: version.id }),
      await createTestImage(db, { modelVersionId: version.id }),
    ];
    await createTestImage(db); // another version
    if (!a || !b || !c) throw new Error("seed");
    await castVote(db, { userId: user.id, imageId: a.id, value: "like" });
    await setImageHidden(db, { imageId: b.id, hidden: true, actorId: user.id });
    expect(
      (await listUnratedImages(db, { userId: user.id, modelVersionId: version.id })).map((i) => i.id),
    ).toEqual([c.id]);
    await setImageHidden(db, { imageId: b.id, hidden: false });
    expect(
      (await listUnratedImages(db, { userId: user.id, modelVersionId: version.id })).map((i) => i.id).sort(),
    ).toEqual([b.id, c.id].sort());
  });
});

describe("exposures", () => {
  it("logs plain and experiment exposures; a variant must belong to its experiment", async () => {
    const user = await createTestUser(db);
    const img = await createTestImage(db);
    const plain = await recordExposure(db, { userId: user.id, imageId: img.id });
    expect(plain).toMatchObject({ userId: user.id, imageId: img.id, experimentId: null, variantId: null });

    const [e1] = await db
      .insert(experiment)
      .values({ name: uniqueId("exp") })
      .returning();
    const [e2] = await db
      .insert(experiment)
      .values({ name: uniqueId("exp") })
      .returning();
    if (!e1 || !e2) throw new Error("seed");
    const [v1] = await db
      .insert(variant)
      .values({
        experimentId: e1.id,
        name: "control",
        modelVersionId: img.modelVersionId,
        weight: 1,
        isControl: true,
      })
      .returning();
    if (!v1) throw new Error("seed");
    const shown = await recordExposure(db, {
      userId: user.id,
      imageId: img.id,
      experimentId: e1.id,
      variantId: v1.id,
    });
    expect(shown).toMatchObject({ experimentId: e1.id, variantId: v1.id });
    expect(typeof shown.id).toBe("number");

    const wrong = await expectDbError(
      recordExposure(db, { userId: user.id, imageId: img.id, experimentId: e2.id, variantId: v1.id }),
      "NOT_FOUND",
    );
    expect(wrong.constraint).toBe("exposure_variant_fk");
    await expectDbError(
      recordExposure(db, { userId: user.id, imageId: img.id, variantId: v1.id }),
      "INVALID_INPUT",
    );
    await expectDbError(
      recordExposure(db, { userId: user.id, imageId: "00000000-0000-4000-8000-000000000066" }),
      "NOT_FOUND",
    );
  });

  it("allows at most one control variant per experiment and no negative weights", async () => {
    const version = await createTestModelVersion(db);
    const [e] = await db
      .insert(experiment)
      .values({ name: uniqueId("exp") })
      .returning();
    if (!e) throw new Error("seed");
    await db
      .insert(variant)
      .values({ experimentId: e.id, name: "a", modelVersionId: version.id, weight: 1, isControl: true });
    const second = withDbErrors(() =>
      db
        .insert(variant)
        .values({ experimentId: e.id, name: "b", modelVersionId: version.id, weight: 1, isControl: true }),
    );
    expect((await expectDbError(second, "CONFLICT")).constraint).toBe("variant_one_control");
    const negative = withDbErrors(() =>
      db.insert(variant).values({ experimentId: e.id, name: "c", modelVersionId: version.id, weight: -0.5 }),
    );
    expect((await expectDbError(negative, "INVALID_INPUT")).constraint).toBe("variant_weight_nonnegative");
    const pct = withDbErrors(() =>
      db.insert(experiment).values({ name: uniqueId("exp"), populationPercent: 120 }),
    );
    expect((await expectDbError(pct, "INVALID_INPUT")).constraint).toBe("experiment_population_percent");
  });
});

describe("schedules", () => {
  it("creates, updates and lists schedules; the database checks their shape", async () => {
    const name = uniqueId("nightly");
    const s = await createSchedule(db, {
      name,
      cron: "0 2 * * *",
      timezone: "Europe/Berlin",
      minNewLabels: 200,
      classBalanceMin: 0.2,
      classBalanceMax: 0.8,
      roundConfig: { objective: "kto", beta: 5000, steps: 300 },
      promotionPolicy: "experiment",
      experimentTrafficPercent: 10,
    });
    expect(s).toMatchObject({
      name,
      isEnabled: true,
      isDataTriggered: false,
      lastTriggeredAt: null,
      roundConfig: { objective: "kto" },
    });
    await expectDbError(createSchedule(db, { name, cron: "0 3 * * *" }), "CONFLICT");
    await expectDbError(createSchedule(db, { name: uniqueId("s") }), "INVALID_INPUT"); // neither cron nor data trigger
    await expectDbError(
      createSchedule(db, {
        name: uniqueId("s"),
        cron: "0 2 * * *",
        classBalanceMin: 0.9,
        classBalanceMax: 0.1,
      }),
      "INVALID_INPUT",
    );
    await expectDbError(
      createSchedule(db, { name: uniqueId("s"), cron: "0 2 * * *", promotionPolicy: "experiment" }),
      "INVALID_INPUT",
    );
    await expectDbError(createSchedule(db, { name: uniqueId("s"), cron: "nightly" }), "INVALID_INPUT");
    const data = await createSchedule(db, {
      name: uniqueId("data"),
      isDataTriggered: true,
      minNewLabels: 50,
    });
    expect(data.cron).toBeNull();

    const off = await updateSchedule(db, { scheduleId: s.id, isEnabled: false, minNewLabels: 100 });
    expect(off).toMatchObject({ isEnabled: false, minNewLabels: 100, cron: "0 2 * * *" });
    await expectDbError(updateSchedule(db, { scheduleId: s.id, classBalanceMax: 1.5 }), "INVALID_INPUT");
    expect((await listSchedules(db, { enabledOnly: true })).map((x) => x.id)).toContain(data.id);
    expect((await listSchedules(db, { enabledOnly: true })).map((x) => x.id)).not.toContain(s.id);
    expect((await markScheduleTriggered(db, { scheduleId: data.id })).lastTriggeredAt).toBeInstanceOf(Date);
    expect((await getSchedule(db, s.id)).isEnabled).toBe(false);
    await expectDbError(getSchedule(db, "00000000-0000-4000-8000-000000000044"), "NOT_FOUND");
  });
});

describe("my votes", () => {
  it("pages a user's current votes, most recently changed first", async () => {
    const user = await createTestUser(db);
    const images = [];
    for (let i = 0; i < 5; i++) images.push(await createTestImage(db));
    for (const img of images) await castVote(db, { userId: user.id, imageId: img.id, value: "like" });
    const first = images[0];
    if (!first) throw new Error("seed");
    await castVote(db, { userId: user.id, imageId: first.id, value: "dislike" }); // now the most recent
    const page1 = await listUserVotes(db, { userId: user.id, limit: 3 });
    expect(page1.votes.map((v) => v.imageId)).toEqual([first.id, images[4]?.id, images[3]?.id]);
    expect(page1.votes[0]?.value).toBe("dislike");
    const page2 = await listUserVotes(db, {
      userId: user.id,
      limit: 3,
      beforeLabelId: page1.nextBeforeLabelId ?? 0,
    });
    expect(page2.votes.map((v) => v.imageId)).toEqual([images[2]?.id, images[1]?.id]);
    expect(page2.nextBeforeLabelId).toBeNull();
  });
});
