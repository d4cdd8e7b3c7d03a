import "~/server/only";

import { type Db, DbError, getExperimentMetrics, listRunningExperiments, stopExperiment } from "@likewise/db";

import { analyzeExperiment, decisionRuleOf, type GuardrailBreach } from "./analysis";

export type GuardrailCheck = {
  experimentId: string;
  name: string;
  breaches: GuardrailBreach[];
  stopped: boolean;
};

function describe(b: GuardrailBreach): string {
  const fmt = (x: number) =>
    b.metric === "generation_latency_ms" ? `${Math.round(x)} ms` : `${(100 * x).toFixed(1)}%`;
  return `${b.metric} of ${b.variantName} ${fmt(b.treatment)} vs control ${fmt(b.control)} (${b.relativeLift >= 0 ? "+" : ""}${(100 * b.relativeLift).toFixed(0)}%, sequential p = ${b.sequentialP.toPrecision(2)})`;
}

/**
 * The automatic guardrail stop: every running experiment whose decision rule opts in (`autoStopOnGuardrail`) and
 * whose watched guardrail is significantly worse for a treatment under the always-valid sequential test (so checking
 * this every minute does not inflate false stops) is stopped, audited as "auto_stopped" with the reason and the
 * numbers. Replicas may run it at once: one stop wins, the others see the experiment already stopped.
 */
export async function enforceGuardrails(db: Db, now: Date = new Date()): Promise<GuardrailCheck[]> {
  const out: GuardrailCheck[] = [];
  for (const exp of await listRunningExperiments(db)) {
    if (!decisionRuleOf(exp).autoStopOnGuardrail) continue;
    const analysis = analyzeExperiment(exp, await getExperimentMetrics(db, { experimentId: exp.id }), now);
    const breaches = analysis.guardrailBreaches;
    let stopped = false;
    if (breaches.length > 0) {
      try {
        await stopExperiment(db, {
          experimentId: exp.id,
          actorId: null,
          reason: `guardrail degraded: ${breaches.map(describe).join("; ")}`,
          auto: { breaches, alpha: analysis.rule.alpha, method: analysis.methods.sequential },
        });
        stopped = true;
      } catch (e) {
        if (!(e instanceof DbError && e.code === "INVALID_STATE")) throw e; // someone else stopped it first
      }
    }
    out.push({ experimentId: exp.id, name: exp.name, breaches, stopped });
  }
  return out;
}

/** Runs `enforceGuardrails` every `intervalMs` in this process (unref'd: it never keeps the process alive). */
export function startGuardrailMonitor(
  db: () => Db,
  intervalMs: number,
  onError: (e: unknown) => void = (e) => console.error("guardrail monitor:", e),
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    enforceGuardrails(db())
      .catch(onError)
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
