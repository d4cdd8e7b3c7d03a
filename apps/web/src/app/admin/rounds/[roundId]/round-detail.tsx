"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

import { Button, Notice } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { useTRPC } from "~/trpc/react";

type SeriesPoint = {
  step: number;
  loss: number;
  z?: number;
  rewardAccuracy?: number;
  rewardDesirable?: number;
  rewardUndesirable?: number;
  kl?: number;
};
type Progress = {
  phase?: string;
  step?: number;
  totalSteps?: number;
  etaMs?: number;
  loss?: number;
  series?: SeriesPoint[];
  evaluated?: number;
  toEvaluate?: number;
  message?: string;
};
type GateMetrics = { id: string; likeRate: number; fidelity: number; score: number };
type Gate = {
  passed: boolean;
  reasons: string[];
  raters: string;
  parent: GateMetrics;
  candidate: GateMetrics;
  // eta is absent on gates recorded before it was configurable (they sampled with η = 0).
  thresholds: { minLikeRateDelta: number; maxFidelityDrop: number; samplingSteps?: number; eta?: number };
  contactSheetBlobKey: string;
};

/** The gate's sampler in words: "50 ancestral steps", "DDIM 20", or steps with η. */
function samplerOf(t: Gate["thresholds"]): string | null {
  if (t.samplingSteps === undefined) return null;
  const e = t.eta ?? 0;
  return e === 1
    ? `${t.samplingSteps} ancestral steps`
    : e === 0
      ? `DDIM ${t.samplingSteps}`
      : `${t.samplingSteps} steps, η ${e}`;
}

const LIVE = new Set(["queued", "draining", "training", "exporting", "evaluating"]);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const eta = (ms?: number) =>
  ms === undefined ? "—" : ms > 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;

function Chart({
  data,
  lines,
}: {
  data: SeriesPoint[];
  lines: { key: keyof SeriesPoint; colour: string; name: string }[];
}) {
  return (
    <div className="h-56 w-full">
      <ResponsiveContainer>
        <LineChart data={data}>
          <CartesianGrid stroke="#27272a" />
          <XAxis dataKey="step" stroke="#a1a1aa" />
          <YAxis stroke="#a1a1aa" />
          <Tooltip contentStyle={{ background: "#18181b", border: "1px solid #3f3f46" }} />
          <Legend />
          {lines.map((l) => (
            <Line
              key={l.key}
              type="monotone"
              dataKey={l.key}
              name={l.name}
              stroke={l.colour}
              dot={false}
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

export function RoundDetail({ roundId, canEdit }: { roundId: string; canEdit: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const q = useQuery({
    ...trpc.admin.rounds.get.queryOptions({ roundId }),
    refetchInterval: (query) => (query.state.data && !LIVE.has(query.state.data.round.status) ? false : 2000),
  });
  const cancel = useMutation(
    trpc.admin.rounds.cancel.mutationOptions({
      onSuccess: () => void qc.invalidateQueries({ queryKey: trpc.admin.rounds.get.pathKey() }),
    }),
  );
  if (q.error) return <Notice tone="error">{errorMessage(q.error)}</Notice>;
  if (!q.data) return <p className="text-zinc-400">Loading…</p>;
  const { round, labelMix } = q.data;
  // The row's jsonb columns as the trainer writes them (apps/trainer/src/rounds/runner.ts).
  const progress = round.progress as Progress;
  const gate = (round.metrics as { gate?: Gate }).gate;
  const training = (
    round.metrics as {
      training?: { steps: number; wallTimeSec: number; backend: string; resumedFromStep: number | null };
    }
  ).training;
  const series = progress.series ?? [];
  const total = round.labelCountDesirable + round.labelCountUndesirable;
  return (
    <div className="flex flex-col gap-6">
      <div className="flex items-center gap-4">
        <h1 className="text-2xl font-semibold">Round {round.id.slice(0, 8)}</h1>
        <span className="rounded bg-zinc-800 px-2 py-1 text-sm">{round.status}</span>
        {canEdit && LIVE.has(round.status) ? (
          <Button onClick={() => cancel.mutate({ roundId })} disabled={cancel.isPending}>
            Cancel round
          </Button>
        ) : null}
      </div>
      {cancel.error ? <Notice tone="error">{errorMessage(cancel.error)}</Notice> : null}
      {round.error ? <Notice tone="error">{round.error}</Notice> : null}
      <section className="grid grid-cols-2 gap-2 text-sm md:grid-cols-4">
        <div>
          Parent: <span className="font-mono">{round.parentModelVersionId}</span>
        </div>
        <div>
          Candidate: <span className="font-mono">{round.candidateModelVersionId ?? "—"}</span>
        </div>
        <div>Trigger: {round.trigger}</div>
        <div>Worker: {round.workerId ?? "—"}</div>
        <div>
          Step {progress.step ?? 0}/{progress.totalSteps ?? "?"} · ETA {eta(progress.etaMs)}
        </div>
        <div>Loss {progress.loss?.toFixed(4) ?? "—"}</div>
        <div>Heartbeat: {round.heartbeatAt ? new Date(round.heartbeatAt).toLocaleTimeString() : "—"}</div>
        <div>
          Manifest sha256:{" "}
          <span className="font-mono text-xs">{round.manifestSha256?.slice(0, 16) ?? "—"}</span>
        </div>
      </section>
      {progress.totalSteps ? (
        <div
          className="h-2 w-full rounded bg-zinc-800"
          role="progressbar"
          aria-valuenow={progress.step ?? 0}
          aria-valuemax={progress.totalSteps}
        >
          <div
            className="h-2 rounded bg-emerald-500"
            style={{ width: `${(100 * (progress.step ?? 0)) / progress.totalSteps}%` }}
          />
        </div>
      ) : null}
      {progress.toEvaluate ? (
        <p className="text-sm text-zinc-400">
          Gate sampling: {progress.evaluated ?? 0}/{progress.toEvaluate} images
        </p>
      ) : null}
      <section>
        <h2 className="mb-2 text-lg font-semibold">Label mix</h2>
        <p className="text-sm">
          {total} labels: {round.labelCountDesirable} liked (
          {total ? pct(round.labelCountDesirable / total) : "—"}), {round.labelCountUndesirable} disliked
          {round.labelsReleasedAt
            ? ` · released to the pool ${new Date(round.labelsReleasedAt).toLocaleString()}`
            : ""}
        </p>
        <table className="mt-2 text-left text-sm">
          <thead className="text-zinc-400">
            <tr>
              <th className="pr-4">Origin (model version)</th>
              <th className="pr-4">Likes</th>
              <th>Dislikes</th>
            </tr>
          </thead>
          <tbody>
            {labelMix.map((m) => (
              <tr key={m.modelVersionId}>
                <td className="pr-4 font-mono text-xs">{m.modelVersionId}</td>
                <td className="pr-4">{m.like}</td>
                <td>{m.dislike}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {series.length > 0 ? (
        <section className="grid gap-4 md:grid-cols-2">
          <div>
            <h2 className="text-lg font-semibold">Loss and reference point z</h2>
            <Chart
              data={series}
              lines={[
                { key: "loss", colour: "#f59e0b", name: "loss" },
                { key: "z", colour: "#60a5fa", name: "z" },
              ]}
            />
          </div>
          <div>
            <h2 className="text-lg font-semibold">Implicit rewards and reward accuracy</h2>
            <Chart
              data={series}
              lines={[
                { key: "rewardDesirable", colour: "#34d399", name: "reward (liked)" },
                { key: "rewardUndesirable", colour: "#f87171", name: "reward (disliked)" },
                { key: "rewardAccuracy", colour: "#e4e4e7", name: "reward accuracy" },
              ]}
            />
          </div>
        </section>
      ) : null}
      {training ? (
        <p className="text-sm text-zinc-400">
          Training: {training.steps} steps in {training.wallTimeSec} s on {training.backend}
          {training.resumedFromStep ? `, resumed from step ${training.resumedFromStep}` : ""}
        </p>
      ) : null}
      {gate ? (
        <section>
          <h2 className="mb-2 text-lg font-semibold">
            Gate ({gate.passed ? "passed" : "failed"}; raters “{gate.raters}”
            {samplerOf(gate.thresholds) ? `; ${samplerOf(gate.thresholds)}` : ""})
          </h2>
          <table className="text-left text-sm">
            <thead className="text-zinc-400">
              <tr>
                <th className="pr-6">Metric</th>
                <th className="pr-6">Parent</th>
                <th className="pr-6">Candidate</th>
                <th>Threshold</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <td className="pr-6">Simulated-rater like rate</td>
                <td className="pr-6">{pct(gate.parent.likeRate)}</td>
                <td className="pr-6">{pct(gate.candidate.likeRate)}</td>
                <td>Δ ≥ {pct(gate.thresholds.minLikeRateDelta)}</td>
              </tr>
              <tr>
                <td className="pr-6">Judge prompt fidelity</td>
                <td className="pr-6">{gate.parent.fidelity.toFixed(3)}</td>
                <td className="pr-6">{gate.candidate.fidelity.toFixed(3)}</td>
                <td>drop ≤ {gate.thresholds.maxFidelityDrop}</td>
              </tr>
              <tr>
                <td className="pr-6">Judge score</td>
                <td className="pr-6">{gate.parent.score.toFixed(3)}</td>
                <td className="pr-6">{gate.candidate.score.toFixed(3)}</td>
                <td>—</td>
              </tr>
            </tbody>
          </table>
          {gate.reasons.length > 0 ? (
            <p className="mt-2 text-sm text-red-400">{gate.reasons.join("; ")}</p>
          ) : null}
          <h3 className="mt-4 mb-2 font-semibold">
            Contact sheet (each row: parent images, then candidate images; same prompts and noise; under each
            image, its P(like))
          </h3>
          <img
            src={`/api/images/${gate.contactSheetBlobKey}`}
            alt="Parent vs candidate contact sheet"
            className="max-w-full [image-rendering:pixelated]"
          />
        </section>
      ) : null}
      <section>
        <h2 className="mb-2 text-lg font-semibold">Log</h2>
        <ul className="font-mono text-xs text-zinc-400">
          <li>
            {new Date(round.createdAt).toISOString()} created ({round.trigger})
          </li>
          {round.startedAt ? <li>{new Date(round.startedAt).toISOString()} started</li> : null}
          {progress.phase ? (
            <li>
              now: {progress.phase}
              {progress.message ? ` — ${progress.message}` : ""}
            </li>
          ) : null}
          {round.finishedAt ? (
            <li>
              {new Date(round.finishedAt).toISOString()} {round.status}
              {round.error ? `: ${round.error}` : ""}
            </li>
          ) : null}
        </ul>
        <p className="mt-1 text-xs text-zinc-500">Structured worker logs carry roundId={round.id}.</p>
      </section>
    </div>
  );
}
