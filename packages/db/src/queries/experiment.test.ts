import { randomUUID } from "node:crypto";

import { afterAll, describe, expect, inject, it, vi } from "vitest";

import { createDb } from "../client.ts";
import { expectDbError } from "../testing/expect-db-error.ts";
import { createTestImage, createTestModelVersion, createTestUser, uniqueId } from "../testing/index.ts";
import {
  abortExperimentStart,
  assignVariant,
  beginExperimentStart,
  createExperiment,
  decideExperiment,
  findAssignment,
  findFreePopulationSlice,
  getExperiment,
  getExperimentMetrics,
  listExperimentEvents,
  listExperiments,
  listRunningExperiments,
  PopulationOverlapError,
  setVariantWeights,
  startExperiment,
  startExperimentPhase,
  startExperimentWhenServed,
  stopExperiment,
} from "./experiment.ts";
import { recordExposure } from "./exposure.ts";
import { listProductionAliasHistory, MODEL_VERSION_CHANNEL } from "./model-version.ts";
import { getServingTarget, reportServingHost } from "./registry.ts";
import { castVote } from "./vote.ts";

const url = inject("databaseUrl");
const { db, close } = createDb(url, { max: 4 });
afterAll(close);

async function twoArm(population: { populationPercent?: number; populationOffset?: number } = {}) {
  const base = await createTestModelVersion(db);
  const aligned = await createTestModelVersion(db, { family: base.family, parentId: base.id });
  return createExperiment(db, {
    name: uniqueId("exp"),
    hypothesis: "the aligned model is liked more",
    populationPercent: 50,
    ...population,
    variants: [
      { name: "control", modelVersionId: base.id, weight: 1, isControl: true },
      { name: "aligned", modelVersionId: aligned.id, weight: 1 },
    ],
  });
}

describe("experiments", () => {
  it("creates a draft with variants and validates the control rule", async () => {
    const exp = await twoArm();
    expect(exp).toMatchObject({ status: "draft", populationPercent: 50, startedAt: null });
    expect(exp.salt).toMatch(/^[0-9a-f]{16}$/);
    expect(exp.variants.map((v) => [v.name, v.isControl])).toEqual([
      ["control", true],
      ["aligned", false],
    ]);
    expect((await getExperiment(db, exp.id)).variants).toHaveLength(2);

    const v = await createTestModelVersion(db);
    const noControl = [
      { name: "a", modelVersionId: v.id, weight: 1 },
      { name: "b", modelVersionId: v.id, weight: 1 },
    ];
    await expectDbError(
      createExperiment(db, { name: uniqueId("exp"), variants: noControl }),
      "INVALID_INPUT",
    );
    await expectDbError(
      createExperiment(db, {
        name: exp.name,
        variants: [
          { name: "a", modelVersionId: v.id, weight: 1, isControl: true },
          { name: "b", modelVersionId: v.id, weight: 1 },
        ],
      }),
      "CONFLICT",
    );
    await expectDbError(
      createExperiment(db, {
        name: uniqueId("exp"),
        variants: [
          { name: "a", modelVersionId: "missing-version", weight: 1, isControl: true },
          { name: "b", modelVersionId: v.id, weight: 1 },
        ],
      }),
      "NOT_FOUND",
    );
  });

  it("starts only with registered versions, then stops", async () => {
    const base = await createTestModelVersion(db);
    const candidate = await createTestModelVersion(db, { family: base.family, status: "candidate" });
    const exp = await createExperiment(db, {
      name: uniqueId("exp"),
      variants: [
        { name: "control", modelVersionId: base.id, weight: 1, isControl: true },
        { name: "candidate", modelVersionId: candidate.id, weight: 1 },
      ],
    });
    const e = await expectDbError(startExperiment(db, { experimentId: exp.id }), "INVALID_STATE");
    expect(e.message).toContain(candidate.id);

    const ok = await twoArm();
    const running = await startExperiment(db, { experimentId: ok.id });
    expect(running.status).toBe("running");
    expect(running.startedAt).toBeInstanceOf(Date);
    expect((await listRunningExperiments(db)).map((x) => x.id)).toContain(ok.id);
    await expectDbError(startExperiment(db, { experimentId: ok.id }), "INVALID_STATE");
    const stopped = await stopExperiment(db, { experimentId: ok.id });
    expect(stopped).toMatchObject({ status: "stopped" });
    expect((await listRunningExperiments(db)).map((x) => x.id)).not.toContain(ok.id);
    await expectDbError(stopExperiment(db, { experimentId: ok.id }), "INVALID_STATE");
  });

  it("assignments are sticky, even when concurrent first exposures propose different variants", async () => {
    const exp = await twoArm();
    const [control, treatment] = exp.variants;
    if (!control || !treatment) throw new Error("seed");
    const user = await createTestUser(db);
    await expectDbError(
      assignVariant(db, { experimentId: exp.id, userId: user.id, variantId: control.id }),
      "INVALID_STATE",
    );
    await startExperiment(db, { experimentId: exp.id });

    const handles = Array.from({ length: 8 }, () => createDb(url, { max: 1 }));
    try {
      const results = await Promise.all(
        handles.map((h, i) =>
          assignVariant(h.db, {
            experimentId: exp.id,
            userId: user.id,
            variantId: i % 2 === 0 ? control.id : treatment.id,
          }),
        ),
      );
      expect(results.filter((r) => r.isNew)).toHaveLength(1);
      expect(new Set(results.map((r) => r.variantId)).size).toBe(1);
      const stored = await findAssignment(db, { experimentId: exp.id, userId: user.id });
      expect(stored?.variantId).toBe(results[0]?.variantId);
      // A later call proposing the other variant still gets the stored one.
      const other = stored?.variantId === control.id ? treatment.id : control.id;
      expect(
        (await assignVariant(db, { experimentId: exp.id, userId: user.id, variantId: other })).variantId,
      ).toBe(stored?.variantId);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }

    // A variant of another experiment is refused by the composite foreign key.
    const foreign = (await twoArm()).variants[0];
    const someone = await createTestUser(db);
    await expectDbError(
      assignVariant(db, { experimentId: exp.id, userId: someone.id, variantId: foreign?.id ?? "" }),
      "NOT_FOUND",
    );
    expect(await findAssignment(db, { experimentId: exp.id, userId: someone.id })).toBeNull();
    await stopExperiment(db, { experimentId: exp.id }); // one running experiment per population slice
  });
});

describe("experiment lifecycle, metrics and decisions", () => {
  it("starting puts its versions in the serving target (NOTIFY) before running; abort takes them out", async () => {
    const exp = await twoArm();
    const aligned = exp.variants[1]?.modelVersionId ?? "";
    const { sql: listener, close: closeListener } = createDb(url, { max: 1 });
    const payloads: string[] = [];
    const sub = await listener.listen(MODEL_VERSION_CHANNEL, (p) => payloads.push(p));
    try {
      const starting = await beginExperimentStart(db, { experimentId: exp.id });
      expect(starting.status).toBe("starting");
      expect((await getServingTarget(db)).active).toContain(aligned);
      // Nobody is assigned while it starts.
      expect((await listRunningExperiments(db)).map((x) => x.id)).not.toContain(exp.id);
      const user = await createTestUser(db);
      await expectDbError(
        assignVariant(db, { experimentId: exp.id, userId: user.id, variantId: exp.variants[0]?.id ?? "" }),
        "INVALID_STATE",
      );
      await abortExperimentStart(db, { experimentId: exp.id });
      expect((await getExperiment(db, exp.id)).status).toBe("draft");
      await beginExperimentStart(db, { experimentId: exp.id });
      expect((await startExperiment(db, { experimentId: exp.id })).status).toBe("running");
      await expectDbError(abortExperimentStart(db, { experimentId: exp.id }), "INVALID_STATE");
      await stopExperiment(db, { experimentId: exp.id });
      await vi.waitFor(() => {
        const statuses = payloads
          .map((p) => JSON.parse(p) as { experimentId?: string; status?: string })
          .filter((p) => p.experimentId === exp.id)
          .map((p) => p.status);
        expect(statuses).toEqual(["starting", "draft", "starting", "running", "stopped"]);
      });
      expect((await listExperiments(db)).map((x) => x.id)).toContain(exp.id);
    } finally {
      await sub.unlisten();
      await closeListener();
    }
  });

  it("metrics are per-user sums windowed by exposure time; a late vote fills in its exposure", async () => {
    const exp = await twoArm();
    const [control, treatment] = exp.variants;
    if (!control || !treatment) throw new Error("seed");
    await startExperiment(db, { experimentId: exp.id });
    const [u1, u2, u3] = await Promise.all([createTestUser(db), createTestUser(db), createTestUser(db)]);
    if (!u1 || !u2 || !u3) throw new Error("seed");
    const imgs = await Promise.all(
      [1, 2, 3].map(() => createTestImage(db, { modelVersionId: treatment.modelVersionId })),
    );
    const cimgs = await Promise.all(
      [1, 2].map(() => createTestImage(db, { modelVersionId: control.modelVersionId })),
    );
    await assignVariant(db, { experimentId: exp.id, userId: u1.id, variantId: treatment.id });
    await assignVariant(db, { experimentId: exp.id, userId: u2.id, variantId: treatment.id });
    await assignVariant(db, { experimentId: exp.id, userId: u3.id, variantId: control.id });
    const show = (userId: string, imageId: string, v: typeof control) =>
      recordExposure(db, { userId, imageId, experimentId: exp.id, variantId: v.id });
    for (const i of imgs) await show(u1.id, i.id, treatment);
    await show(u2.id, imgs[0]?.id ?? "", treatment);
    for (const i of cimgs) await show(u3.id, i.id, control);
    await castVote(db, { userId: u1.id, imageId: imgs[0]?.id ?? "", value: "like" });
    await castVote(db, { userId: u1.id, imageId: imgs[1]?.id ?? "", value: "dislike" });
    await castVote(db, { userId: u3.id, imageId: cimgs[0]?.id ?? "", value: "like" });
    // A vote on an image never shown under the experiment does not count.
    await castVote(db, { userId: u2.id, imageId: imgs[2]?.id ?? "", value: "like" });
    const cutoff = new Date();

    const m = await getExperimentMetrics(db, { experimentId: exp.id, until: cutoff });
    const t = m.find((x) => x.variantId === treatment.id);
    const c = m.find((x) => x.variantId === control.id);
    expect(t).toMatchObject({
      users: 2,
      voters: 1,
      exposures: 4,
      votes: 2,
      likes: 1,
      exposures2: 9 + 1,
      votes2: 4,
      likes2: 1,
      likesVotes: 2,
      likesExposures: 3,
    });
    expect(c).toMatchObject({ users: 1, voters: 1, exposures: 2, votes: 1, likes: 1 });

    // u2 votes late on the image shown before the cutoff: the window (by exposure time) now includes it.
    await castVote(db, { userId: u2.id, imageId: imgs[0]?.id ?? "", value: "like" });
    const late = (await getExperimentMetrics(db, { experimentId: exp.id, until: cutoff })).find(
      (x) => x.variantId === treatment.id,
    );
    expect(late).toMatchObject({ users: 2, voters: 2, votes: 3, likes: 2 });
    // Before anyone was assigned there is nothing.
    const early = await getExperimentMetrics(db, {
      experimentId: exp.id,
      until: new Date(Date.now() - 3_600_000),
    });
    expect(early.map((x) => x.users)).toEqual([0, 0]);
    await stopExperiment(db, { experimentId: exp.id });
  });

  it("promote moves production to the winner atomically with the decision; rollback keeps control", async () => {
    const admin = await createTestUser(db, { role: "admin" });
    const exp = await twoArm();
    const [control, treatment] = exp.variants;
    if (!control || !treatment) throw new Error("seed");
    await expectDbError(
      decideExperiment(db, { experimentId: exp.id, action: "rollback", actorId: admin.id, reason: "x" }),
      "INVALID_STATE",
    );
    await startExperiment(db, { experimentId: exp.id });
    await expectDbError(
      decideExperiment(db, {
        experimentId: exp.id,
        action: "promote",
        variantId: randomUUID(),
        actorId: admin.id,
        reason: "x",
      }),
      "INVALID_INPUT",
    );
    const decided = await decideExperiment(db, {
      experimentId: exp.id,
      action: "promote",
      variantId: treatment.id,
      actorId: admin.id,
      reason: "aligned wins",
      evidence: { pValue: 0.001 },
    });
    expect(decided.status).toBe("decided");
    expect(decided.decision).toMatchObject({
      action: "promote",
      variantId: treatment.id,
      actorId: admin.id,
      reason: "aligned wins",
    });
    expect(decided.decidedAt).toBeInstanceOf(Date);
    const [event] = await listProductionAliasHistory(db, { limit: 1 });
    expect(event).toMatchObject({
      toModelVersionId: treatment.modelVersionId,
      actorId: admin.id,
      kind: "promote",
    });
    expect(event?.reason).toContain("aligned wins");
    await expectDbError(
      decideExperiment(db, { experimentId: exp.id, action: "rollback", actorId: admin.id, reason: "again" }),
      "INVALID_STATE",
    );

    const exp2 = await twoArm();
    await startExperiment(db, { experimentId: exp2.id });
    await stopExperiment(db, { experimentId: exp2.id });
    const rolled = await decideExperiment(db, {
      experimentId: exp2.id,
      action: "rollback",
      actorId: admin.id,
      reason: "no lift",
    });
    expect(rolled.decision).toMatchObject({
      action: "rollback",
      modelVersionId: exp2.variants[0]?.modelVersionId,
    });
  });
});

describe("setVariantWeights", () => {
  it("changes weights, stamps a new SRM phase only while running, and refuses bad input", async () => {
    const exp = await twoArm();
    const [control, treatment] = exp.variants;
    if (!control || !treatment) throw new Error("seed");
    const draft = await setVariantWeights(db, { experimentId: exp.id, weights: { [treatment.id]: 3 } });
    expect(Object.fromEntries(draft.variants.map((v) => [v.id, v.weight]))).toEqual({
      [control.id]: 1,
      [treatment.id]: 3,
    });
    expect(draft.weightsChangedAt).toBeNull();
    await startExperiment(db, { experimentId: exp.id });
    const running = await setVariantWeights(db, { experimentId: exp.id, weights: { [control.id]: 2 } });
    expect(running.weightsChangedAt).toBeInstanceOf(Date);
    await expectDbError(
      setVariantWeights(db, { experimentId: exp.id, weights: { [control.id]: 0, [treatment.id]: 0 } }),
      "INVALID_INPUT",
    );
    await expectDbError(
      setVariantWeights(db, { experimentId: exp.id, weights: { [randomUUID()]: 1 } }),
      "INVALID_INPUT",
    );
    await expectDbError(
      setVariantWeights(db, { experimentId: exp.id, weights: { [control.id]: -1 } }),
      "INVALID_INPUT",
    );
    await stopExperiment(db, { experimentId: exp.id });
    await expectDbError(
      setVariantWeights(db, { experimentId: exp.id, weights: { [control.id]: 1 } }),
      "INVALID_STATE",
    );
  });
});

describe("startExperimentWhenServed", () => {
  it("waits for every live host of the kind, goes back to draft on a refusal or a timeout, starts when all are ready", async () => {
    const kind = uniqueId("kind");
    const exp = await twoArm();
    const versions = exp.variants.map((v) => v.modelVersionId);
    const report = (id: string, states: string[]) =>
      reportServingHost(db, {
        id,
        kind,
        hostname: "h",
        pid: 1,
        productionVersionId: null,
        isConverged: false,
        status: { versions: versions.map((v, i) => ({ id: v, state: states[i] })) },
      });
    const opts = {
      experimentId: exp.id,
      timeoutMs: 300,
      pollMs: 50,
      seenWithinMs: 30_000,
      hostKinds: [kind],
    };
    await report(`${kind}-a`, ["ready", "ready"]);
    await report(`${kind}-b`, ["ready", "loading"]);
    const slow = await expectDbError(startExperimentWhenServed(db, opts), "UNAVAILABLE");
    expect(slow.message).toContain(`${kind}-b still loading ${versions[1]}`);
    expect((await getExperiment(db, exp.id)).status).toBe("draft");

    await report(`${kind}-b`, ["ready", "failed"]);
    await expectDbError(startExperimentWhenServed(db, opts), "INVALID_STATE");
    expect((await getExperiment(db, exp.id)).status).toBe("draft");

    // The host finishes loading while the start waits.
    await report(`${kind}-b`, ["ready", "loading"]);
    const started = startExperimentWhenServed(db, { ...opts, timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    expect((await getExperiment(db, exp.id)).status).toBe("starting");
    await report(`${kind}-b`, ["ready", "ready"]);
    const done = await started;
    expect(done.experiment.status).toBe("running");
    expect(done.hosts.map((h) => h.hostId).sort()).toEqual([`${kind}-a`, `${kind}-b`]);
    await stopExperiment(db, { experimentId: exp.id });
  });
});

describe("mutual exclusivity (one running experiment per population slice)", () => {
  it("refuses to start an overlapping experiment with a typed error; disjoint slices run side by side", async () => {
    const low = await twoArm({ populationOffset: 0, populationPercent: 50 });
    const high = await twoArm({ populationOffset: 50, populationPercent: 50 });
    const overlapping = await twoArm({ populationOffset: 40, populationPercent: 20 });
    await startExperiment(db, { experimentId: low.id });
    try {
      await startExperiment(db, { experimentId: high.id }); // [50, 100) is disjoint from [0, 50)
      expect(await findFreePopulationSlice(db, 1)).toBeNull();
      const e = await expectDbError(startExperiment(db, { experimentId: overlapping.id }), "CONFLICT");
      expect(e).toBeInstanceOf(PopulationOverlapError);
      expect(e.message).toContain(low.name);
      expect(e.message).toContain(high.name);
      expect(e.message).toMatch(/stop it first, or give this experiment a disjoint population slice/);
      // The same check guards draft → starting, so nothing is loaded for a start that cannot happen.
      await expectDbError(beginExperimentStart(db, { experimentId: overlapping.id }), "CONFLICT");
      expect((await getExperiment(db, overlapping.id)).status).toBe("draft");
      await stopExperiment(db, { experimentId: high.id });
      expect(await findFreePopulationSlice(db, 30)).toEqual({ from: 50, to: 80 });
    } finally {
      await stopExperiment(db, { experimentId: low.id }).catch(() => undefined);
      await stopExperiment(db, { experimentId: high.id }).catch(() => undefined);
    }
    // Once the slice is free it starts.
    expect((await startExperiment(db, { experimentId: overlapping.id })).status).toBe("running");
    await stopExperiment(db, { experimentId: overlapping.id });
    // A slice must lie inside 0–100%.
    await expectDbError(twoArm({ populationOffset: 60, populationPercent: 50 }), "INVALID_INPUT");
  });

  it("the database itself guarantees it: concurrent starts of overlapping experiments, and a raw UPDATE, are refused", async () => {
    const exps = await Promise.all(
      [1, 2, 3, 4].map(() => twoArm({ populationOffset: 10, populationPercent: 30 })),
    );
    const handles = exps.map(() => createDb(url, { max: 1 }));
    try {
      const results = await Promise.allSettled(
        exps.map((e, i) => startExperiment(handles[i]?.db ?? db, { experimentId: e.id })),
      );
      const won = results.filter((r) => r.status === "fulfilled");
      expect(won).toHaveLength(1);
      for (const r of results)
        if (r.status === "rejected") expect(r.reason).toBeInstanceOf(PopulationOverlapError);
      const loser = exps.find((_e, i) => results[i]?.status === "rejected");
      // Bypassing the verb does not help: the exclusion constraint refuses the second running row.
      const raw = createDb(url, { max: 1 });
      try {
        await expect(
          raw.sql`update experiment set status = 'running', started_at = now() where id = ${loser?.id ?? ""}`,
        ).rejects.toMatchObject({ constraint_name: "experiment_population_exclusive" });
      } finally {
        await raw.close();
      }
    } finally {
      await Promise.all(handles.map((h) => h.close()));
      for (const e of exps) await stopExperiment(db, { experimentId: e.id }).catch(() => undefined);
    }
  });
});

describe("phases and the audit log", () => {
  it("a new phase reassigns everyone and counts metrics and the sample-ratio input per phase; every step is audited", async () => {
    const admin = await createTestUser(db, { role: "admin" });
    const exp = await twoArm({ populationOffset: 0, populationPercent: 100 });
    const [control, treatment] = exp.variants;
    if (!control || !treatment) throw new Error("seed");
    await startExperiment(db, { experimentId: exp.id, actorId: admin.id });
    try {
      const users = await Promise.all([1, 2, 3].map(() => createTestUser(db)));
      const img = await createTestImage(db, { modelVersionId: treatment.modelVersionId });
      for (const u of users) {
        await assignVariant(db, { experimentId: exp.id, userId: u.id, variantId: treatment.id });
        await recordExposure(db, {
          userId: u.id,
          imageId: img.id,
          experimentId: exp.id,
          variantId: treatment.id,
        });
      }
      await castVote(db, { userId: users[0]?.id ?? "", imageId: img.id, value: "like" });
      await setVariantWeights(db, { experimentId: exp.id, weights: { [control.id]: 3 }, actorId: admin.id });
      // [control, treatment], whatever order the verb returns them in.
      const ordered = (ms: Awaited<ReturnType<typeof getExperimentMetrics>>) =>
        [control, treatment].map((v) => ms.find((m) => m.variantId === v.id));
      const p1 = ordered(await getExperimentMetrics(db, { experimentId: exp.id }));
      expect(p1.map((m) => [m?.users, m?.usersInPhase])).toEqual([
        [0, 0],
        [3, 0],
      ]);

      const next = await startExperimentPhase(db, {
        experimentId: exp.id,
        actorId: admin.id,
        reason: "the pool of the treatment was broken in phase 1",
        details: { closing: { srm: { pValue: 1 } } },
      });
      expect(next).toMatchObject({ phase: 2, weightsChangedAt: null });
      expect(next.phaseStartedAt).toBeInstanceOf(Date);
      // Everyone is unassigned in the new phase: the next exposure assigns afresh (here: to control).
      expect(await findAssignment(db, { experimentId: exp.id, userId: users[0]?.id ?? "" })).toBeNull();
      const again = await assignVariant(db, {
        experimentId: exp.id,
        userId: users[0]?.id ?? "",
        variantId: control.id,
      });
      expect(again).toMatchObject({ isNew: true, phase: 2, variantId: control.id });
      expect(
        (await findAssignment(db, { experimentId: exp.id, userId: users[0]?.id ?? "", phase: 1 }))?.variantId,
      ).toBe(treatment.id);
      const p2 = ordered(await getExperimentMetrics(db, { experimentId: exp.id }));
      expect(p2.map((m) => [m?.users, m?.usersInPhase, m?.exposures, m?.votes])).toEqual([
        [1, 1, 0, 0],
        [0, 0, 0, 0],
      ]);
      // Phase 1 is still there as history, closed where phase 2 began.
      const old = ordered(await getExperimentMetrics(db, { experimentId: exp.id, phase: 1 }));
      expect(old.map((m) => [m?.users, m?.exposures, m?.votes, m?.likes])).toEqual([
        [0, 0, 0, 0],
        [3, 3, 1, 1],
      ]);
      await expectDbError(getExperimentMetrics(db, { experimentId: exp.id, phase: 3 }), "INVALID_INPUT");

      await stopExperiment(db, {
        experimentId: exp.id,
        reason: "guardrail generation_error_rate degraded",
        auto: { metric: "generation_error_rate" },
      });
      await expectDbError(
        startExperimentPhase(db, { experimentId: exp.id, actorId: admin.id, reason: "late" }),
        "INVALID_STATE",
      );
      const events = await listExperimentEvents(db, { experimentId: exp.id });
      expect(events.map((e) => e.kind)).toEqual(["started", "weights", "phase", "auto_stopped"]);
      expect(events[2]).toMatchObject({
        actorId: admin.id,
        reason: "the pool of the treatment was broken in phase 1",
        details: { phase: 2, closing: { srm: { pValue: 1 } } },
      });
      expect(events[3]).toMatchObject({ actorId: null, details: { metric: "generation_error_rate" } });
      // The audit log is append-only.
      const raw = createDb(url, { max: 1 });
      try {
        await expect(
          raw.sql`update experiment_event set reason = 'x' where experiment_id = ${exp.id}`,
        ).rejects.toThrow(/append-only/);
      } finally {
        await raw.close();
      }
    } finally {
      await stopExperiment(db, { experimentId: exp.id }).catch(() => undefined);
    }
  });
});
