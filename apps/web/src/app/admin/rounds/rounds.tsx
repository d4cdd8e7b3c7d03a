"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";

import { PROMOTION_POLICIES, type PromotionPolicy } from "@likewise/db/enums";
import { Button, Notice } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import { useTRPC } from "~/trpc/react";

const LIVE = new Set(["queued", "draining", "training", "exporting", "evaluating"]);

function parseJson(text: string): Record<string, unknown> {
  const v: unknown = JSON.parse(text || "{}");
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new Error("the config must be a JSON object");
  return v as Record<string, unknown>; // checked just above
}

export function RoundsList({ canEdit }: { canEdit: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useQuery({ ...trpc.admin.rounds.list.queryOptions({ limit: 50 }), refetchInterval: 3000 });
  const [config, setConfig] = useState("{}");
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const runNow = useMutation(
    trpc.admin.rounds.runNow.mutationOptions({
      onSuccess: (r) => {
        setMessage({ tone: "success", text: `Round ${r.id.slice(0, 8)} queued` });
        void qc.invalidateQueries({ queryKey: trpc.admin.rounds.list.pathKey() });
      },
      onError: (e) => setMessage({ tone: "error", text: errorMessage(e) }),
    }),
  );
  return (
    <section className="mb-8 flex flex-col gap-3">
      {canEdit ? (
        <div className="flex flex-wrap items-end gap-2">
          <label className="flex flex-col text-xs text-zinc-400">
            Round config (JSON; empty = defaults)
            <textarea
              aria-label="Round config"
              value={config}
              onChange={(e) => setConfig(e.target.value)}
              rows={2}
              className="w-96 rounded border border-zinc-700 bg-zinc-900 px-2 py-1 font-mono text-xs text-zinc-100"
            />
          </label>
          <Button
            onClick={() => {
              try {
                runNow.mutate({ config: parseJson(config) });
              } catch (e) {
                setMessage({ tone: "error", text: errorMessage(e) });
              }
            }}
            disabled={runNow.isPending}
          >
            Run now
          </Button>
        </div>
      ) : null}
      {message ? <Notice tone={message.tone}>{message.text}</Notice> : null}
      {list.error ? <Notice tone="error">{errorMessage(list.error)}</Notice> : null}
      <table className="w-full text-left text-sm">
        <thead className="text-zinc-400">
          <tr>
            <th>Round</th>
            <th>Status</th>
            <th>Trigger</th>
            <th>Parent → candidate</th>
            <th>Labels (+/−)</th>
            <th>Progress</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((r) => {
            const p = r.progress as { step?: number; totalSteps?: number };
            return (
              <tr key={r.id} className="border-t border-zinc-800">
                <td>
                  <Link className="underline" href={`/admin/rounds/${r.id}`}>
                    {r.id.slice(0, 8)}
                  </Link>
                </td>
                <td
                  className={
                    LIVE.has(r.status) ? "text-amber-300" : r.status === "published" ? "text-emerald-400" : ""
                  }
                >
                  {r.status}
                  {r.error ? (
                    <span className="block text-xs text-zinc-500">{r.error.slice(0, 120)}</span>
                  ) : null}
                </td>
                <td>{r.trigger}</td>
                <td className="font-mono text-xs">
                  {r.parentModelVersionId} → {r.candidateModelVersionId ?? "—"}
                </td>
                <td>
                  {r.labelCountDesirable}/{r.labelCountUndesirable}
                </td>
                <td>{p.totalSteps ? `${p.step ?? 0}/${p.totalSteps}` : "—"}</td>
                <td className="text-xs text-zinc-400">{new Date(r.createdAt).toLocaleString()}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

export function SchedulesPanel({ canEdit }: { canEdit: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useQuery(trpc.admin.schedules.list.queryOptions());
  const [message, setMessage] = useState<{ tone: "success" | "error"; text: string } | null>(null);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: trpc.admin.schedules.list.pathKey() });
    void qc.invalidateQueries({ queryKey: trpc.admin.rounds.list.pathKey() });
  };
  const opts = (text: string) => ({
    onSuccess: () => {
      setMessage({ tone: "success" as const, text });
      refresh();
    },
    onError: (e: unknown) => setMessage({ tone: "error" as const, text: errorMessage(e) }),
  });
  const create = useMutation(trpc.admin.schedules.create.mutationOptions(opts("Schedule saved")));
  const update = useMutation(trpc.admin.schedules.update.mutationOptions(opts("Schedule updated")));
  const runNow = useMutation(trpc.admin.schedules.runNow.mutationOptions(opts("Round queued")));
  const [form, setForm] = useState({
    name: "nightly",
    cron: "0 2 * * *",
    timezone: "Europe/Berlin",
    isDataTriggered: false,
    minNewLabels: 200,
    classBalanceMin: 0.05,
    classBalanceMax: 0.95,
    roundConfig: "{}",
    promotionPolicy: "none" as PromotionPolicy,
    experimentTrafficPercent: 10,
  });
  const input = "rounded border border-zinc-700 bg-zinc-900 px-2 py-1 text-sm";
  return (
    <section className="flex flex-col gap-3">
      <h2 className="text-xl font-semibold">Schedules</h2>
      {message ? <Notice tone={message.tone}>{message.text}</Notice> : null}
      {list.error ? <Notice tone="error">{errorMessage(list.error)}</Notice> : null}
      <table className="w-full text-left text-sm">
        <thead className="text-zinc-400">
          <tr>
            <th>Name</th>
            <th>Cron (time zone)</th>
            <th>Data trigger</th>
            <th>Min labels / band</th>
            <th>Policy</th>
            <th>Last fired</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((s) => (
            <tr key={s.id} className="border-t border-zinc-800">
              <td>{s.name}</td>
              <td className="font-mono text-xs">{s.cron ? `${s.cron} (${s.timezone})` : "—"}</td>
              <td>{s.isDataTriggered ? "yes" : "no"}</td>
              <td>
                {s.minNewLabels} / {Math.round(100 * s.classBalanceMin)}–{Math.round(100 * s.classBalanceMax)}
                % liked
              </td>
              <td>
                {s.promotionPolicy}
                {s.experimentTrafficPercent ? ` ${s.experimentTrafficPercent}%` : ""}
              </td>
              <td className="text-xs text-zinc-400">
                {s.lastTriggeredAt ? new Date(s.lastTriggeredAt).toLocaleString() : "never"}
              </td>
              <td className="flex gap-2">
                {canEdit ? (
                  <>
                    <Button onClick={() => runNow.mutate({ scheduleId: s.id })}>Run now</Button>
                    <Button onClick={() => update.mutate({ scheduleId: s.id, isEnabled: !s.isEnabled })}>
                      {s.isEnabled ? "Disable" : "Enable"}
                    </Button>
                  </>
                ) : s.isEnabled ? (
                  "enabled"
                ) : (
                  "disabled"
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {canEdit ? (
        <form
          className="grid max-w-3xl grid-cols-2 gap-2 text-xs text-zinc-400"
          onSubmit={(e) => {
            e.preventDefault();
            try {
              create.mutate({
                name: form.name,
                cron: form.cron.trim() === "" ? null : form.cron,
                timezone: form.timezone,
                isDataTriggered: form.isDataTriggered,
                minNewLabels: form.minNewLabels,
                classBalanceMin: form.classBalanceMin,
                classBalanceMax: form.classBalanceMax,
                roundConfig: parseJson(form.roundConfig),
                promotionPolicy: form.promotionPolicy,
                experimentTrafficPercent:
                  form.promotionPolicy === "experiment" ? form.experimentTrafficPercent : null,
              });
            } catch (err) {
              setMessage({ tone: "error", text: errorMessage(err) });
            }
          }}
        >
          <label className="flex flex-col">
            Name
            <input
              className={input}
              value={form.name}
              onChange={(e) => setForm({ ...form, name: e.target.value })}
            />
          </label>
          <label className="flex flex-col">
            Cron (empty: data-triggered only)
            <input
              className={input}
              value={form.cron}
              onChange={(e) => setForm({ ...form, cron: e.target.value })}
            />
          </label>
          <label className="flex flex-col">
            Time zone
            <input
              className={input}
              value={form.timezone}
              onChange={(e) => setForm({ ...form, timezone: e.target.value })}
            />
          </label>
          <label className="flex items-center gap-2">
            <input
              type="checkbox"
              checked={form.isDataTriggered}
              onChange={(e) => setForm({ ...form, isDataTriggered: e.target.checked })}
            />
            Start when enough new balanced labels exist
          </label>
          <label className="flex flex-col">
            Minimum new labels
            <input
              className={input}
              type="number"
              value={form.minNewLabels}
              onChange={(e) => setForm({ ...form, minNewLabels: Number(e.target.value) })}
            />
          </label>
          <label className="flex flex-col">
            Liked share band (min–max)
            <span className="flex gap-1">
              <input
                className={input}
                type="number"
                step="0.01"
                value={form.classBalanceMin}
                onChange={(e) => setForm({ ...form, classBalanceMin: Number(e.target.value) })}
              />
              <input
                className={input}
                type="number"
                step="0.01"
                value={form.classBalanceMax}
                onChange={(e) => setForm({ ...form, classBalanceMax: Number(e.target.value) })}
              />
            </span>
          </label>
          <label className="col-span-2 flex flex-col">
            Round config (JSON: objective, beta, utility, referencePoint, positiveRatio, pairedSampling,
            lambdaD, lambdaU, learningRate, steps, batchSize, trainable, seed, gate…)
            <textarea
              className={`${input} font-mono`}
              rows={3}
              value={form.roundConfig}
              onChange={(e) => setForm({ ...form, roundConfig: e.target.value })}
            />
          </label>
          <label className="flex flex-col">
            Promotion policy
            <select
              className={input}
              value={form.promotionPolicy} // safe: the options are exactly PROMOTION_POLICIES
              onChange={(e) => setForm({ ...form, promotionPolicy: e.target.value as PromotionPolicy })}
            >
              {PROMOTION_POLICIES.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          {form.promotionPolicy === "experiment" ? (
            <label className="flex flex-col">
              Experiment traffic %
              <input
                className={input}
                type="number"
                value={form.experimentTrafficPercent}
                onChange={(e) => setForm({ ...form, experimentTrafficPercent: Number(e.target.value) })}
              />
            </label>
          ) : null}
          <div className="col-span-2">
            <Button type="submit" disabled={create.isPending}>
              Add schedule
            </Button>
          </div>
        </form>
      ) : null}
    </section>
  );
}
