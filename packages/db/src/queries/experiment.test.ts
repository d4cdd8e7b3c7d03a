import { afterAll, describe, expect, inject, it } from "vitest";

import { createDb } from "../client.ts";
import { expectDbError } from "../testing/expect-db-error.ts";
import { createTestModelVersion, createTestUser, uniqueId } from "../testing/index.ts";
import {
  assignVariant,
  createExperiment,
  findAssignment,
  getExperiment,
  listRunningExperiments,
  startExperiment,
  stopExperiment,
} from "./experiment.ts";

const url = inject("databaseUrl");
const { db, close } = createDb(url, { max: 4 });
afterAll(close);

async function twoArm() {
  const base = await createTestModelVersion(db);
  const aligned = await createTestModelVersion(db, { family: base.family, parentId: base.id });
  return createExperiment(db, {
    name: uniqueId("exp"),
    hypothesis: "the aligned model is liked more",
    populationPercent: 50,
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
  });
});
