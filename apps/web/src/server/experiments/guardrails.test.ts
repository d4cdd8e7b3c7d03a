// The automatic guardrail stop on a real database: an opted-in experiment whose treatment's generations start
// failing stops itself (audited, with the reason), a healthy one keeps running, and one that did not opt in is only
// flagged. Generation requests go through the real verbs and the real job queue.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

import {
  assignVariant,
  completeGenerationRequest,
  createDb,
  createExperiment,
  type ExperimentWithVariants,
  failGenerationRequest,
  getExperiment,
  listExperimentEvents,
  requestGeneration,
  startExperiment,
  startGenerationRequest,
  stopExperiment,
} from "@likewise/db";
import { openJobQueue, type JobQueue } from "@likewise/db/queue";
import { createTestImage, createTestModelVersion, createTestUser, uniqueId } from "@likewise/db/testing";

import { enforceGuardrails } from "./guardrails";

const handle = createDb(inject("databaseUrl"), { max: 4 });
const { db } = handle;
let queue: JobQueue;
beforeAll(async () => {
  queue = await openJobQueue(inject("databaseUrl"), { role: "producer" });
});
afterAll(async () => {
  await queue.stop();
  await handle.close();
});

async function experiment(autoStopOnGuardrail: boolean): Promise<ExperimentWithVariants> {
  const a = await createTestModelVersion(db);
  const b = await createTestModelVersion(db, { family: a.family });
  const exp = await createExperiment(db, {
    name: uniqueId("guard"),
    // This file's own population slice: other files' experiments in this database run on others.
    populationOffset: 90,
    populationPercent: 10,
    guardrails: ["generation_error_rate"], // latencies here are database timings, not a model's
    decisionRule: { method: "sequential", alpha: 0.05, autoStopOnGuardrail },
    variants: [
      { name: "control", modelVersionId: a.id, weight: 1, isControl: true },
      { name: "treatment", modelVersionId: b.id, weight: 1 },
    ],
  });
  await startExperiment(db, { experimentId: exp.id });
  return exp;
}

/** `users` users per arm, each with `perUser` on-demand generations; `failShare` of a variant's users see all fail. */
async function traffic(
  exp: ExperimentWithVariants,
  users: number,
  perUser: number,
  failShare: Record<string, number>,
) {
  for (const v of exp.variants) {
    for (let i = 0; i < users; i++) {
      const u = await createTestUser(db);
      await assignVariant(db, { experimentId: exp.id, userId: u.id, variantId: v.id });
      const failing = i < Math.round(users * (failShare[v.name] ?? 0));
      for (let k = 0; k < perUser; k++) {
        const req = await requestGeneration(db, queue, {
          userId: u.id,
          prompt: `a red circle ${uniqueId()}`,
          count: 1,
          modelVersionId: v.modelVersionId,
        });
        await startGenerationRequest(db, { id: req.id, workerId: "guardrail-test" });
        if (failing)
          await failGenerationRequest(db, { id: req.id, error: "ONNX Runtime: NaN output", isFinal: true });
        else {
          const img = await createTestImage(db, { modelVersionId: v.modelVersionId });
          await completeGenerationRequest(db, {
            id: req.id,
            modelVersionId: v.modelVersionId,
            imageIds: [img.id],
          });
        }
      }
    }
  }
}

describe("automatic guardrail stop", () => {
  it("a degraded guardrail is only flagged when the experiment did not opt in", async () => {
    const exp = await experiment(false);
    try {
      await traffic(exp, 30, 2, { control: 0.05, treatment: 0.6 });
      const checks = await enforceGuardrails(db);
      expect(checks.find((c) => c.experimentId === exp.id)).toBeUndefined(); // not watched
      expect((await getExperiment(db, exp.id)).status).toBe("running");
    } finally {
      await stopExperiment(db, { experimentId: exp.id });
    }
  });

  it("an opted-in experiment runs while healthy and stops itself once its treatment's generations fail", async () => {
    const exp = await experiment(true);
    try {
      await traffic(exp, 30, 2, { control: 0.1, treatment: 0.1 });
      const healthy = (await enforceGuardrails(db)).find((c) => c.experimentId === exp.id);
      expect(healthy).toMatchObject({ breaches: [], stopped: false });
      expect((await getExperiment(db, exp.id)).status).toBe("running");

      // The treatment breaks: most of its new users' generations fail.
      await traffic(exp, 40, 2, { control: 0.1, treatment: 0.8 });
      // Two replicas check at once: one stop, one audit record.
      const [r1, r2] = await Promise.all([enforceGuardrails(db), enforceGuardrails(db)]);
      const mine = [...r1, ...r2].filter((c) => c.experimentId === exp.id);
      expect(mine.filter((c) => c.stopped)).toHaveLength(1);
      const stopped = await getExperiment(db, exp.id);
      expect(stopped.status).toBe("stopped");
      const events = (await listExperimentEvents(db, { experimentId: exp.id })).filter(
        (e) => e.kind === "auto_stopped",
      );
      expect(events).toHaveLength(1);
      expect(events[0]?.actorId).toBeNull();
      expect(events[0]?.reason).toMatch(
        /^guardrail degraded: generation_error_rate of treatment \d+\.\d% vs control/,
      );
      expect(events[0]?.details).toMatchObject({
        breaches: [expect.objectContaining({ metric: "generation_error_rate", variantName: "treatment" })],
      });
      const breach = (events[0]?.details.breaches as { sequentialP: number; relativeLift: number }[])[0];
      expect(breach?.sequentialP).toBeLessThan(0.05);
      expect(breach?.relativeLift).toBeGreaterThan(0);
    } finally {
      await stopExperiment(db, { experimentId: exp.id }).catch(() => undefined);
    }
  });
});
