// `pnpm bench alignment [--raters <preset|file>] [--labels N] [--seeds K] [--json]` (issue 10): the paper's
// comparison on the shapes world. From the base model, N images of training prompts are labelled once each by the
// rater spec (binary); Diffusion-KTO, SFT (liked only), Diffusion-DPO (pairs from the same labels) and the KTO
// loss-averse / risk-seeking utilities are fine-tuned on those labels with one budget (steps × batch) and K training
// seeds; every model is evaluated on held-out prompts with fixed seeds (like rate from fresh votes, win rates of the
// judge-scored median image, fidelity, quality, diversity); then three consecutive KTO rounds on fresh labels from
// the previous round's model. Writes bench/results/alignment.{json,md}, three SVG charts and a contact sheet, and the
// `alignment` section of BENCHMARKS.md. Options: see USAGE in ./lib/alignment/options.ts.
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

import { encodePng } from "@likewise/serving";
import { contactSheet } from "@likewise/synth";

import { updateBenchmarksFile } from "./lib/alignment/benchmarks-md.ts";
import { cellMetrics } from "./lib/alignment/evaluate.ts";
import { parseOptions, USAGE, UsageError } from "./lib/alignment/options.ts";
import { runAlignment, type AlignmentRun } from "./lib/alignment/pipeline.ts";
import { metricBars, roundsChart, winMatrix } from "./lib/alignment/plots.ts";
import { buildReport, reportMarkdown, type AlignmentReport } from "./lib/alignment/report.ts";
import { machineInfo, RESULTS_DIR } from "./lib/results.ts";

export type BenchOutput = {
  run: AlignmentRun;
  report: AlignmentReport;
  files: { json: string; markdown: string; plots: string[]; sheet: string | null; benchmarks: string | null };
};

/** Runs the benchmark; throws UsageError for bad options (the CLI turns it into exit code 2). */
export async function runAlignmentBench(
  argv: string[],
  log: (m: string) => void = (m) => console.error(m),
): Promise<BenchOutput> {
  const o = await parseOptions(argv);
  const outDir = o.out ?? RESULTS_DIR;
  mkdirSync(outDir, { recursive: true });
  const started = new Date();
  const run = await runAlignment({
    modelDir: o.modelDir,
    rater: o.rater,
    ratersSource: o.ratersSource,
    labels: o.labels,
    seeds: o.seeds,
    trainPrompts: o.trainPrompts,
    evalPrompts: o.evalPrompts,
    evalImagesPerPrompt: o.evalImagesPerPrompt,
    samplingSteps: o.samplingSteps,
    eta: o.eta,
    guidanceScale: o.guidanceScale,
    budget: o.budget,
    methods: o.methods,
    soups: o.soups,
    soupGuidance: o.soupGuidance,
    rounds: o.rounds,
    roundBudget: o.roundBudget,
    oracleLabels: o.oracleLabels,
    servingThreads: o.servingThreads,
    workDir: join(tmpdir(), `likewise-bench-alignment-${process.pid}-${Date.now()}`),
    log: (m) => log(`[${((Date.now() - started.getTime()) / 1000).toFixed(0)} s] ${m}`),
  });
  const report = buildReport(run);
  const rel = (p: string) => relative(process.cwd(), p) || p;
  const file = (name: string) => join(outDir, name);

  const plots: string[] = [];
  const title = `Alignment on the shapes world: ${run.labelSet.count} labels, raters "${o.ratersSource}"`;
  writeFileSync(file("alignment-metrics.svg"), metricBars(report, title));
  plots.push(rel(file("alignment-metrics.svg")));
  writeFileSync(
    file("alignment-wins.svg"),
    winMatrix(
      report.winsJudge,
      // The methods as trained; the soups' wins against the base are in the table.
      report.models.map((m) => m.key).filter((k) => !report.soups.some((x) => x.key === k)),
      "Win rate, judge-scored median image (row vs column)",
    ),
  );
  plots.push(rel(file("alignment-wins.svg")));
  if (run.rounds.length) {
    writeFileSync(
      file("alignment-rounds.svg"),
      roundsChart(report, `KTO rounds on fresh labels (${Math.floor(o.labels / o.rounds)} per round)`),
    );
    plots.push(rel(file("alignment-rounds.svg")));
  }
  let sheet: string | null = null;
  const sheetModels = [run.base.id, ...["kto", "sft", "dpo"].map((m) => `${m}-seed1`)];
  const rows = run.sheet.filter(Boolean).map((r) => ({
    label: `${r.caption}: ${sheetModels
      .filter((m) => r.byModel[m])
      .map((m) => m.replace("-seed1", ""))
      .join(" / ")}`,
    images: sheetModels.flatMap((m) => (r.byModel[m] ?? []).slice(0, 3)),
  }));
  if (rows.length) {
    const size = rows[0]?.images[0]?.width ?? 16;
    writeFileSync(
      file("alignment-contact-sheet.png"),
      encodePng(contactSheet(rows, { imageScale: Math.max(1, Math.round(48 / size)) })),
    );
    sheet = rel(file("alignment-contact-sheet.png"));
  }

  const jsonPath = file("alignment.json");
  const models = [
    ["base", run.base.eval] as const,
    ...run.runs.filter((r) => r.eval).map((r) => [`${r.method}#${r.seed}`, r.eval] as const),
    ...run.soups.filter((x) => x.eval).map((x) => [x.key, x.eval] as const),
    ...run.rounds.map((r) => [`round-${r.round}`, r.eval] as const),
  ];
  const json = {
    name: "alignment",
    at: new Date().toISOString(),
    machine: machineInfo(),
    options: run.options,
    labelSet: run.labelSet,
    report,
    training: run.runs.map((r) => ({ method: r.method, seed: r.seed, error: r.error, summary: r.training })),
    soups: run.soups.map(({ eval: _e, ...x }) => x),
    rounds: run.rounds.map((r) => ({
      round: r.round,
      parent: r.parent,
      labels: r.labels,
      liked: r.liked,
      labelSource: r.labelSource,
      training: r.training,
    })),
    times: run.times,
    resources: run.resources,
    // Per-cell values (cells ordered by seed, then prompt) for re-analysis.
    cells: Object.fromEntries(
      models.map(([k, e]) => [k, { id: e?.id, ...cellMetrics(e as NonNullable<typeof e>) }]),
    ),
  };
  writeFileSync(jsonPath, JSON.stringify(json, null, 1) + "\n");
  const markdown = `## Alignment benchmark (\`pnpm bench alignment\`, issue 10)\n\n${reportMarkdown(run, report, { json: rel(jsonPath), plots, sheet })}\n`;
  const mdPath = file("alignment.md");
  writeFileSync(mdPath, markdown);
  let benchmarks: string | null = null;
  if (o.benchmarks) {
    updateBenchmarksFile(o.benchmarks, "alignment", markdown);
    benchmarks = o.benchmarks;
  }
  if (o.json) console.log(JSON.stringify({ report, times: run.times, labelSet: run.labelSet }, null, 2));
  else console.log(markdown);
  return { run, report, files: { json: jsonPath, markdown: mdPath, plots, sheet, benchmarks } };
}

export default async function main(argv: string[]): Promise<void> {
  try {
    await runAlignmentBench(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n\nUsage: ${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
