"use client";

import { useQuery } from "@tanstack/react-query";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

import { Notice, StatCard } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { useTRPC } from "~/trpc/react";

const LINE_COLOURS = ["#818cf8", "#34d399", "#fbbf24", "#f472b6", "#60a5fa", "#a78bfa"];

export function Dashboard() {
  const trpc = useTRPC();
  const stats = useQuery(trpc.admin.dashboard.stats.queryOptions(undefined, { refetchInterval: 30_000 }));
  if (stats.isPending) return <p className="text-zinc-400">Loading…</p>;
  if (stats.error) return <Notice tone="error">{errorMessage(stats.error)}</Notice>;
  const { votesPerHour, likeRate, activeModels, labelPool, productionFamily } = stats.data;

  const hourly = votesPerHour.map((h) => ({
    hour: h.hour.toISOString().slice(11, 13) + "h",
    likes: h.likes,
    dislikes: h.dislikes,
    cleared: h.cleared,
  }));
  const versions = [...new Set(likeRate.map((p) => p.modelVersionId))];
  const days = [...new Set(likeRate.map((p) => p.day.toISOString().slice(0, 10)))].sort();
  const rateRows = days.map((day) => {
    const row: Record<string, string | number> = { day };
    for (const p of likeRate)
      if (p.day.toISOString().slice(0, 10) === day)
        row[p.modelVersionId] = Math.round(p.likeRate * 1000) / 10;
    return row;
  });
  const votes48h = votesPerHour.reduce((s, h) => s + h.likes + h.dislikes, 0);
  const balance =
    labelPool && labelPool.total > 0
      ? `${Math.round((labelPool.desirable / labelPool.total) * 100)}% likes`
      : "—";

  return (
    <div className="flex flex-col gap-6" data-testid="dashboard">
      <div className="grid grid-cols-2 gap-4 lg:grid-cols-4">
        <StatCard label="Votes, last 48 h" value={votes48h} />
        <StatCard
          label="Label pool"
          value={labelPool ? labelPool.total : "—"}
          hint={productionFamily ? `family ${productionFamily}: eligible, unclaimed` : "no production model"}
        />
        <StatCard
          label="Class balance"
          value={balance}
          hint={labelPool ? `${labelPool.desirable} likes · ${labelPool.undesirable} dislikes` : undefined}
        />
        <StatCard label="Active models" value={activeModels.length} />
      </div>

      <section className="rounded-lg border border-zinc-800 p-4">
        <h2 className="mb-2 font-semibold">Votes per hour (48 h)</h2>
        <div className="h-64">
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={hourly}>
              <CartesianGrid stroke="#27272a" vertical={false} />
              <XAxis dataKey="hour" stroke="#a1a1aa" fontSize={11} interval={3} />
              <YAxis stroke="#a1a1aa" fontSize={11} allowDecimals={false} />
              <Tooltip contentStyle={{ background: "#18181b", border: "1px solid #3f3f46" }} />
              <Legend />
              <Bar dataKey="likes" stackId="v" fill="#34d399" isAnimationActive={false} />
              <Bar dataKey="dislikes" stackId="v" fill="#f87171" isAnimationActive={false} />
              <Bar dataKey="cleared" stackId="v" fill="#71717a" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      </section>

      <section className="rounded-lg border border-zinc-800 p-4">
        <h2 className="mb-2 font-semibold">Like rate per model version (% of votes, by day)</h2>
        {rateRows.length === 0 ? (
          <p className="text-sm text-zinc-500">No votes in the last 14 days.</p>
        ) : (
          <div className="h-64">
            <ResponsiveContainer width="100%" height="100%">
              <LineChart data={rateRows}>
                <CartesianGrid stroke="#27272a" vertical={false} />
                <XAxis dataKey="day" stroke="#a1a1aa" fontSize={11} />
                <YAxis stroke="#a1a1aa" fontSize={11} domain={[0, 100]} unit="%" />
                <Tooltip contentStyle={{ background: "#18181b", border: "1px solid #3f3f46" }} />
                <Legend />
                {versions.map((v, i) => (
                  <Line
                    key={v}
                    dataKey={v}
                    stroke={LINE_COLOURS[i % LINE_COLOURS.length]}
                    dot
                    isAnimationActive={false}
                    connectNulls
                  />
                ))}
              </LineChart>
            </ResponsiveContainer>
          </div>
        )}
      </section>

      <section className="rounded-lg border border-zinc-800 p-4">
        <h2 className="mb-2 font-semibold">Active models</h2>
        {activeModels.length === 0 ? (
          <p className="text-sm text-zinc-500">No model is serving yet.</p>
        ) : (
          <table className="w-full text-left text-sm">
            <thead className="text-zinc-400">
              <tr>
                <th className="py-1">Version</th>
                <th>Family</th>
                <th>Serving as</th>
                <th>Visible images</th>
              </tr>
            </thead>
            <tbody>
              {activeModels.map((m) => (
                <tr
                  key={`${m.modelVersionId}-${m.experimentName ?? "prod"}-${m.variantName ?? ""}`}
                  className="border-t border-zinc-800"
                >
                  <td className="py-1 font-mono">{m.modelVersionId}</td>
                  <td>{m.family}</td>
                  <td>{m.role === "production" ? "production" : `${m.experimentName} / ${m.variantName}`}</td>
                  <td>{m.imageCount}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
