"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";

import { Button, Notice } from "@likewise/ui";

import { errorMessage } from "~/lib/errors";
import {
  CreateExperimentInput,
  DECISION_METHODS,
  EXPERIMENT_GUARDRAILS,
  EXPERIMENT_PRIMARY_METRICS,
} from "~/lib/experiment-schemas";
import { useTRPC } from "~/trpc/react";

const STATUS_TONE: Record<string, string> = {
  draft: "text-zinc-400",
  starting: "text-amber-300",
  running: "text-emerald-300",
  stopped: "text-sky-300",
  decided: "text-indigo-300",
};

export function ExperimentList() {
  const trpc = useTRPC();
  const list = useQuery(trpc.admin.experiments.list.queryOptions(undefined, { refetchInterval: 15_000 }));
  if (list.isPending) return <p className="text-zinc-400">Loading…</p>;
  if (list.error) return <Notice tone="error">{errorMessage(list.error)}</Notice>;
  if (list.data.length === 0) return <p className="mb-6 text-zinc-400">No experiments yet.</p>;
  return (
    <table className="mb-8 w-full text-sm" data-testid="experiment-list">
      <thead className="text-left text-xs uppercase text-zinc-500">
        <tr>
          <th className="py-1">Name</th>
          <th>Status</th>
          <th>Variants (weight)</th>
          <th>Population</th>
          <th>Created</th>
        </tr>
      </thead>
      <tbody>
        {list.data.map((e) => (
          <tr key={e.id} className="border-t border-zinc-800">
            <td className="py-1">
              <Link className="text-indigo-300 hover:underline" href={`/admin/experiments/${e.id}`}>
                {e.name}
              </Link>
            </td>
            <td className={STATUS_TONE[e.status]}>{e.status}</td>
            <td>
              {e.variants.map((v) => `${v.name}${v.isControl ? " (control)" : ""} ${v.weight}`).join(" · ")}
            </td>
            <td>
              {e.populationOffset}–{e.populationOffset + e.populationPercent}%
            </td>
            <td>{e.createdAt.toISOString().slice(0, 16).replace("T", " ")}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type VariantRow = { name: string; modelVersionId: string; weight: number };

export function CreateExperimentForm() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const versions = useQuery(trpc.admin.experiments.modelVersions.queryOptions());
  const [name, setName] = useState("");
  const [hypothesis, setHypothesis] = useState("");
  const [population, setPopulation] = useState(100);
  const [offset, setOffset] = useState(0);
  const [expectedLift, setExpectedLift] = useState(10);
  const [autoStop, setAutoStop] = useState(false);
  const [metric, setMetric] = useState<(typeof EXPERIMENT_PRIMARY_METRICS)[number]>("like_rate_per_vote");
  const [method, setMethod] = useState<(typeof DECISION_METHODS)[number]>("sequential");
  const [minSample, setMinSample] = useState(100);
  const [minDays, setMinDays] = useState(0);
  const [rows, setRows] = useState<VariantRow[]>([
    { name: "control", modelVersionId: "", weight: 1 },
    { name: "treatment", modelVersionId: "", weight: 1 },
  ]);
  const [errors, setErrors] = useState<string[]>([]);
  const create = useMutation(
    trpc.admin.experiments.create.mutationOptions({
      onSuccess: () => {
        setErrors([]);
        setName("");
        void qc.invalidateQueries({ queryKey: trpc.admin.experiments.list.pathKey() });
      },
      onError: (e) => setErrors([errorMessage(e)]),
    }),
  );
  const setRow = (i: number, patch: Partial<VariantRow>) =>
    setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  function submit(ev: React.FormEvent) {
    ev.preventDefault();
    const input = {
      name,
      hypothesis,
      populationPercent: population,
      populationOffset: offset,
      primaryMetric: metric,
      guardrails: [...EXPERIMENT_GUARDRAILS],
      minSamplePerVariant: minSample,
      minDurationSeconds: Math.round(minDays * 86_400),
      decisionRule: {
        method,
        alpha: 0.05,
        chanceToBeat: 0.95,
        expectedLift: expectedLift / 100,
        autoStopOnGuardrail: autoStop,
      },
      variants: rows.map((r, i) => ({ ...r, isControl: i === 0 })),
    };
    const parsed = CreateExperimentInput.safeParse(input);
    if (!parsed.success) {
      setErrors(parsed.error.issues.map((i) => `${i.path.join(".") || "form"}: ${i.message}`));
      return;
    }
    create.mutate(input);
  }

  const field = "rounded border border-zinc-700 bg-zinc-900 px-2 py-1 text-sm";
  return (
    <form onSubmit={submit} className="flex max-w-3xl flex-col gap-3" aria-label="New experiment">
      <h2 className="text-lg font-semibold">New experiment</h2>
      <label className="flex flex-col gap-1 text-sm">
        Name
        <input className={field} value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        Hypothesis
        <textarea className={field} value={hypothesis} onChange={(e) => setHypothesis(e.target.value)} />
      </label>
      <fieldset className="flex flex-col gap-2">
        <legend className="mb-1 text-sm">Variants (the first is the control)</legend>
        {rows.map((r, i) => (
          <div key={i} className="flex gap-2">
            <input
              className={field}
              aria-label={`variant ${i + 1} name`}
              value={r.name}
              onChange={(e) => setRow(i, { name: e.target.value })}
            />
            <select
              className={field}
              aria-label={`variant ${i + 1} model version`}
              value={r.modelVersionId}
              onChange={(e) => setRow(i, { modelVersionId: e.target.value })}
            >
              <option value="">choose a model version…</option>
              {(versions.data ?? []).map((v) => (
                <option key={v.id} value={v.id}>
                  {v.id}
                  {v.isProduction ? " (production)" : ""}
                </option>
              ))}
            </select>
            <input
              className={`${field} w-20`}
              type="number"
              min={0}
              step="any"
              aria-label={`variant ${i + 1} weight`}
              value={r.weight}
              onChange={(e) => setRow(i, { weight: Number(e.target.value) })}
            />
            {i >= 2 ? (
              <Button variant="ghost" onClick={() => setRows(rows.filter((_, j) => j !== i))}>
                remove
              </Button>
            ) : null}
          </div>
        ))}
        <Button
          variant="ghost"
          className="self-start"
          onClick={() =>
            setRows([...rows, { name: `variant ${rows.length}`, modelVersionId: "", weight: 1 }])
          }
        >
          add variant
        </Button>
      </fieldset>
      <div className="grid grid-cols-2 gap-3 md:grid-cols-3">
        <label className="flex flex-col gap-1 text-sm">
          Target population %
          <input
            className={field}
            type="number"
            min={1}
            max={100}
            value={population}
            onChange={(e) => setPopulation(Number(e.target.value))}
          />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Population slice starts at %
          <input
            className={field}
            type="number"
            min={0}
            max={99}
            step="any"
            value={offset}
            onChange={(e) => setOffset(Number(e.target.value))}
          />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Expected lift % (sequential test&apos;s τ)
          <input
            className={field}
            type="number"
            min={0.1}
            step="any"
            value={expectedLift}
            onChange={(e) => setExpectedLift(Number(e.target.value))}
          />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Primary metric
          <select
            className={field}
            value={metric}
            onChange={(e) => setMetric(e.target.value as (typeof EXPERIMENT_PRIMARY_METRICS)[number])}
          >
            {EXPERIMENT_PRIMARY_METRICS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Decision rule
          <select
            className={field}
            value={method}
            onChange={(e) => setMethod(e.target.value as (typeof DECISION_METHODS)[number])}
          >
            {DECISION_METHODS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Minimum users per variant
          <input
            className={field}
            type="number"
            min={0}
            value={minSample}
            onChange={(e) => setMinSample(Number(e.target.value))}
          />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Minimum duration (days)
          <input
            className={field}
            type="number"
            min={0}
            step="any"
            value={minDays}
            onChange={(e) => setMinDays(Number(e.target.value))}
          />
        </label>
      </div>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={autoStop} onChange={(e) => setAutoStop(e.target.checked)} />
        Stop automatically when a generation guardrail degrades significantly (sequential test)
      </label>
      <p className="text-xs text-zinc-500">
        Guardrails: generation error rate and latency, vote participation. Only one experiment runs on a part
        of the population at a time: experiments on disjoint slices (e.g. 0–50% and 50–100%) are mutually
        exclusive and may run together; an overlapping one cannot start until the other stops.
      </p>
      {errors.length > 0 ? (
        <Notice tone="error">
          <ul>
            {errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </Notice>
      ) : null}
      {create.isSuccess ? <Notice tone="success">Created {create.data.name} (draft).</Notice> : null}
      <Button type="submit" variant="primary" className="self-start" disabled={create.isPending}>
        Create draft
      </Button>
    </form>
  );
}
