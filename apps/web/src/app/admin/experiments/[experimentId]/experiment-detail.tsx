"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import {
  Area,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import { Button, Notice, PixelImage } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { imageUrl } from "~/lib/vote-client";
import { useTRPC } from "~/trpc/react";

const COLOURS = ["#a1a1aa", "#34d399", "#818cf8", "#fbbf24", "#f472b6", "#60a5fa"];
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "—");
const num = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "—");
const pval = (p: number) => (!Number.isFinite(p) ? "—" : p < 0.0001 ? p.toExponential(1) : p.toFixed(4));
const ci = (lo: number, hi: number, f: (x: number) => string) =>
  Number.isFinite(lo) && Number.isFinite(hi) ? `[${f(lo)}, ${f(hi)}]` : "";

export function ExperimentDetail({ experimentId, canDecide }: { experimentId: string; canDecide: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const results = useQuery(
    trpc.admin.experiments.results.queryOptions({ experimentId }, { refetchInterval: 30_000 }),
  );
  const sheets = useQuery(trpc.admin.experiments.contactSheets.queryOptions({ experimentId }));
  const [reason, setReason] = useState("");
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const done = (text: string) => ({
    onSuccess: () => {
      setMessage({ tone: "success", text });
      void qc.invalidateQueries({ queryKey: trpc.admin.experiments.pathKey() });
    },
    onError: (e: unknown) => setMessage({ tone: "error", text: errorMessage(e) }),
  });
  const start = useMutation(
    trpc.admin.experiments.start.mutationOptions(done("Running: every serving host has its versions.")),
  );
  const stop = useMutation(trpc.admin.experiments.stop.mutationOptions(done("Stopped.")));
  const newPhase = useMutation(
    trpc.admin.experiments.newPhase.mutationOptions(done("New phase: everyone is assigned afresh.")),
  );
  const decide = useMutation(trpc.admin.experiments.decide.mutationOptions(done("Decision recorded.")));

  if (results.isPending) return <p className="text-zinc-400">Loading…</p>;
  if (results.error) return <Notice tone="error">{errorMessage(results.error)}</Notice>;
  const { experiment: exp, analysis, series, events, phases } = results.data;
  const autoStop = events.findLast((e) => e.kind === "auto_stopped");
  const primary = analysis.primaryMetric;
  const colour = (i: number) => COLOURS[i % COLOURS.length];
  const chartRows = series.map((p) => {
    const row: Record<string, number | string | [number, number]> = {
      at: p.at.toISOString().slice(5, 16).replace("T", " "),
    };
    for (const v of analysis.variants) {
      const e = p.variants[v.variantId];
      if (e && Number.isFinite(e.value)) {
        row[v.name] = e.value;
        if (Number.isFinite(e.lower)) row[`${v.name} CI`] = [e.lower, e.upper];
      }
    }
    return row;
  });
  const decision = exp.decision;
  const canAct = canDecide && (exp.status === "running" || exp.status === "stopped");
  const rec = analysis.recommendation;

  return (
    <div className="flex flex-col gap-6" data-testid="experiment-detail">
      <div>
        <h1 className="text-2xl font-semibold">{exp.name}</h1>
        <p className="text-sm text-zinc-400">
          {exp.status} · population slice {exp.populationOffset}–
          {exp.populationOffset + exp.populationPercent}% · primary metric {primary} · rule{" "}
          {analysis.rule.method} (α = {analysis.rule.alpha}
          {analysis.rule.method === "bayesian" ? `, P ≥ ${analysis.rule.chanceToBeat}` : ""}, expected lift{" "}
          {pct(analysis.rule.expectedLift)}) · guardrail auto-stop{" "}
          {analysis.rule.autoStopOnGuardrail ? "on" : "off"}
          {exp.startedAt ? ` · started ${exp.startedAt.toISOString().slice(0, 16).replace("T", " ")}` : ""}
          {exp.phaseStartedAt
            ? ` · phase ${exp.phase} since ${exp.phaseStartedAt.toISOString().slice(0, 16).replace("T", " ")}`
            : ""}
        </p>
        {exp.hypothesis ? <p className="mt-1 text-sm">Hypothesis: {exp.hypothesis}</p> : null}
      </div>

      <div className="grid gap-3 md:grid-cols-3">
        <Notice tone={analysis.srm.mismatch ? "error" : "success"}>
          <strong>Sample ratio: {analysis.srm.mismatch ? "MISMATCH — decisions blocked" : "OK"}</strong>
          <br />
          χ² = {num(analysis.srm.chiSquare, 2)}, p = {pval(analysis.srm.pValue)}
          <br />
          <span className="text-xs">{analysis.methods.srm}</span>
        </Notice>
        <Notice tone={analysis.readiness.ready ? "success" : "info"}>
          <strong>Readiness</strong>
          <br />
          smallest variant {analysis.readiness.smallestVariantUsers} /{" "}
          {analysis.readiness.minSamplePerVariant} users;{" "}
          {Math.floor(analysis.readiness.elapsedSeconds / 3600)} h /{" "}
          {Math.ceil(analysis.readiness.minDurationSeconds / 3600)} h
        </Notice>
        <Notice tone={rec.kind === "blocked" ? "error" : rec.kind === "promote" ? "success" : "info"}>
          <strong>Recommendation: {rec.kind}</strong>
          <br />
          {rec.reason}
        </Notice>
      </div>
      {autoStop ? (
        <Notice tone="error">
          <strong>Stopped automatically</strong> {autoStop.at.toISOString().slice(0, 16).replace("T", " ")}:{" "}
          <span data-testid="auto-stop-reason">{autoStop.reason}</span>
        </Notice>
      ) : null}
      {analysis.guardrailAlerts.length > 0 ? (
        <Notice tone="error">
          Guardrails degraded (fixed-horizon z-test):{" "}
          {analysis.guardrailAlerts
            .map(
              (g) =>
                `${analysis.variants.find((v) => v.variantId === g.variantId)?.name}: ${g.metric} ${pct(g.relativeLift)} (p = ${pval(g.pValue)})`,
            )
            .join("; ")}
        </Notice>
      ) : null}

      <div className="overflow-x-auto">
        <table className="w-full text-sm" data-testid="variant-table">
          <thead className="text-left text-xs uppercase text-zinc-500">
            <tr>
              <th className="py-1">Variant</th>
              <th>Users</th>
              <th>Exposures</th>
              <th>Votes</th>
              <th>Like rate / vote [95% CI]¹</th>
              <th>Likes / exposure [95% CI]¹</th>
              <th>Participation¹</th>
              <th>Gen. errors¹</th>
              <th>Gen. latency¹</th>
            </tr>
          </thead>
          <tbody>
            {analysis.variants.map((v, i) => (
              <tr key={v.variantId} className="border-t border-zinc-800">
                <td className="py-1" style={{ color: colour(i) }}>
                  {v.name}
                  {v.isControl ? " (control)" : ""}
                  <div className="text-xs text-zinc-500">
                    {v.modelVersionId} · weight {v.weight}
                  </div>
                </td>
                <td>{v.counts.users}</td>
                <td>{v.counts.exposures}</td>
                <td>{v.counts.votes}</td>
                <td>
                  {pct(v.metrics.like_rate_per_vote.value)}{" "}
                  <span className="text-xs text-zinc-500">
                    {ci(v.metrics.like_rate_per_vote.lower, v.metrics.like_rate_per_vote.upper, pct)}
                  </span>
                </td>
                <td>
                  {num(v.metrics.likes_per_exposure.value)}{" "}
                  <span className="text-xs text-zinc-500">
                    {ci(v.metrics.likes_per_exposure.lower, v.metrics.likes_per_exposure.upper, (x) =>
                      num(x),
                    )}
                  </span>
                </td>
                <td>{pct(v.metrics.participation.value)}</td>
                <td>{pct(v.metrics.generation_error_rate.value)}</td>
                <td>
                  {Number.isFinite(v.metrics.generation_latency_ms.value)
                    ? `${Math.round(v.metrics.generation_latency_ms.value)} ms`
                    : "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="mt-1 text-xs text-zinc-500">¹ {analysis.methods.estimate}</p>
      </div>

      <div className="overflow-x-auto">
        <h2 className="mb-2 text-lg font-semibold">Against control on {primary}</h2>
        <table className="w-full text-sm" data-testid="comparison-table">
          <thead className="text-left text-xs uppercase text-zinc-500">
            <tr>
              <th className="py-1">Variant</th>
              <th>Lift (abs) [95% CI]²</th>
              <th>Relative lift²</th>
              <th>p (fixed)²</th>
              <th>p (sequential) [conf. sequence]³</th>
              <th>Chance to beat control⁴</th>
              {canAct ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {analysis.variants
              .filter((v) => !v.isControl)
              .map((v) => {
                const c = v.comparisons[primary];
                if (!c) return null;
                return (
                  <tr key={v.variantId} className="border-t border-zinc-800">
                    <td className="py-1">{v.name}</td>
                    <td>
                      {num(c.difference, 4)}{" "}
                      <span className="text-xs text-zinc-500">
                        {ci(c.fixedHorizon.interval.lower, c.fixedHorizon.interval.upper, (x) => num(x, 4))}
                      </span>
                    </td>
                    <td>
                      {pct(c.relativeLift)}{" "}
                      <span className="text-xs text-zinc-500">
                        {ci(
                          c.fixedHorizon.relativeInterval.lower,
                          c.fixedHorizon.relativeInterval.upper,
                          pct,
                        )}
                      </span>
                    </td>
                    <td>{pval(c.fixedHorizon.pValue)}</td>
                    <td>
                      {pval(c.sequential.pValue)}{" "}
                      <span className="text-xs text-zinc-500">
                        {ci(c.sequential.interval.lower, c.sequential.interval.upper, (x) => num(x, 4))}
                      </span>
                    </td>
                    <td>{pct(c.bayesian.chanceToBeatControl)}</td>
                    {canAct ? (
                      <td>
                        <Button
                          variant="primary"
                          disabled={
                            decide.isPending ||
                            analysis.srm.mismatch ||
                            !analysis.readiness.ready ||
                            !reason.trim()
                          }
                          title={
                            analysis.srm.mismatch
                              ? "blocked by the sample-ratio mismatch"
                              : !analysis.readiness.ready
                                ? rec.reason
                                : ""
                          }
                          onClick={() =>
                            decide.mutate({ experimentId, action: "promote", variantId: v.variantId, reason })
                          }
                        >
                          Promote {v.name}
                        </Button>
                      </td>
                    ) : null}
                  </tr>
                );
              })}
          </tbody>
        </table>
        <p className="mt-1 text-xs text-zinc-500">
          ² {analysis.methods.fixed} · ³ {analysis.methods.sequential} · ⁴ {analysis.methods.bayesian}
        </p>
      </div>

      {canDecide ? (
        <div className="flex flex-wrap items-end gap-2" aria-label="Decision">
          {exp.status === "draft" ? (
            <Button
              variant="primary"
              disabled={start.isPending}
              onClick={() => start.mutate({ experimentId })}
            >
              {start.isPending ? "Loading versions on serving hosts…" : "Start"}
            </Button>
          ) : null}
          {exp.status === "running" ? (
            <Button disabled={stop.isPending} onClick={() => stop.mutate({ experimentId, reason })}>
              Stop
            </Button>
          ) : null}
          {exp.status === "running" ? (
            <Button
              disabled={newPhase.isPending || !reason.trim()}
              title="Re-randomise everyone and restart the sample (a weight change keeps assigned users instead)"
              onClick={() => newPhase.mutate({ experimentId, reason })}
            >
              New phase (reassign everyone)
            </Button>
          ) : null}
          {canAct ? (
            <>
              <label className="flex flex-col gap-1 text-sm">
                Reason (recorded with the decision)
                <input
                  className="w-96 rounded border border-zinc-700 bg-zinc-900 px-2 py-1"
                  value={reason}
                  onChange={(e) => setReason(e.target.value)}
                />
              </label>
              <Button
                variant="danger"
                disabled={decide.isPending || !reason.trim()}
                onClick={() => decide.mutate({ experimentId, action: "rollback", reason })}
              >
                Roll back (keep control)
              </Button>
            </>
          ) : null}
        </div>
      ) : null}
      {message ? <Notice tone={message.tone}>{message.text}</Notice> : null}
      {decision ? (
        <Notice tone="info">
          Decided {exp.decidedAt?.toISOString().slice(0, 16).replace("T", " ")}: {String(decision.action)}{" "}
          {String(decision.variantName)} ({String(decision.modelVersionId)}) — {String(decision.reason)}
        </Notice>
      ) : null}

      <div>
        <h2 className="mb-2 text-lg font-semibold">Cumulative {primary} over time (95% intervals)</h2>
        {chartRows.length === 0 ? (
          <p className="text-zinc-400">Not started.</p>
        ) : (
          <div className="h-72">
            <ResponsiveContainer width="100%" height="100%">
              <ComposedChart data={chartRows}>
                <CartesianGrid stroke="#27272a" />
                <XAxis dataKey="at" stroke="#71717a" fontSize={11} />
                <YAxis stroke="#71717a" fontSize={11} domain={["auto", "auto"]} />
                <Tooltip contentStyle={{ background: "#18181b", border: "1px solid #3f3f46" }} />
                <Legend />
                {analysis.variants.map((v, i) => (
                  <Area
                    key={`${v.variantId}-ci`}
                    dataKey={`${v.name} CI`}
                    stroke="none"
                    fill={colour(i)}
                    fillOpacity={0.15}
                    legendType="none"
                    isAnimationActive={false}
                  />
                ))}
                {analysis.variants.map((v, i) => (
                  <Line
                    key={v.variantId}
                    dataKey={v.name}
                    stroke={colour(i)}
                    dot={false}
                    isAnimationActive={false}
                  />
                ))}
              </ComposedChart>
            </ResponsiveContainer>
          </div>
        )}
        <p className="mt-1 text-xs text-zinc-500">
          Windowed by exposure time: a point counts users and exposures up to its time and every vote on those
          exposures, whenever it arrived (late votes fill in, they do not move between points).
        </p>
      </div>

      <div>
        <h2 className="mb-2 text-lg font-semibold">Phases (sample-ratio check per phase)</h2>
        <table className="w-full text-sm" data-testid="phase-table">
          <thead className="text-left text-xs uppercase text-zinc-500">
            <tr>
              <th className="py-1">Phase</th>
              <th>Started</th>
              <th>Users per variant</th>
              <th>SRM χ² / p</th>
            </tr>
          </thead>
          <tbody>
            {phases.map((p) => (
              <tr key={p.phase} className="border-t border-zinc-800">
                <td className="py-1">
                  {p.phase}
                  {p.phase === exp.phase ? " (current)" : ""}
                </td>
                <td>{p.startedAt ? p.startedAt.slice(0, 16).replace("T", " ") : "—"}</td>
                <td>
                  {Object.entries(p.users)
                    .map(([k, n]) => `${k} ${n}`)
                    .join(" · ")}
                </td>
                <td className={p.srm.mismatch ? "text-red-400" : ""}>
                  {num(p.srm.chiSquare, 2)} / {pval(p.srm.pValue)}
                  {p.srm.mismatch ? " MISMATCH" : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <div>
        <h2 className="mb-2 text-lg font-semibold">Audit log</h2>
        <ul className="text-sm" data-testid="experiment-events">
          {events.length === 0 ? <li className="text-zinc-500">Nothing yet.</li> : null}
          {events.map((e) => (
            <li key={e.id}>
              <span className="text-zinc-500">{e.at.toISOString().slice(0, 19).replace("T", " ")}</span>{" "}
              <strong>{e.kind}</strong>
              {e.actorId ? "" : " (system)"}
              {e.reason ? ` — ${e.reason}` : ""}
            </li>
          ))}
        </ul>
      </div>

      <div>
        <h2 className="mb-2 text-lg font-semibold">Contact sheets</h2>
        <div className="grid gap-4 md:grid-cols-2">
          {(sheets.data ?? []).map((s) => {
            const v = analysis.variants.find((x) => x.variantId === s.variantId);
            return (
              <div key={s.variantId}>
                <h3 className="mb-1 text-sm">{v?.name}</h3>
                <div className="flex flex-wrap gap-1">
                  {s.images.length === 0 ? (
                    <span className="text-xs text-zinc-500">no unrated images</span>
                  ) : null}
                  {s.images.map((img) => (
                    <PixelImage key={img.id} src={imageUrl(img.blobKey)} alt={`image ${img.id}`} size={64} />
                  ))}
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
