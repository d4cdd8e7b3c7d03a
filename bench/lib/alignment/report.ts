// Figures of the alignment benchmark from a run: per-model metrics with 95% intervals over (prompt, seed) cells,
// paired differences against the base, the win-rate matrix (median image per cell), the multi-round curve and the
// issue's targets checked one by one.
import { availableParallelism } from "node:os";

import { cellMetrics, type CellMetrics, type ModelEval } from "./evaluate.ts";
import type { HeadroomRow, VoteEvidence } from "./evidence.ts";
import { METHOD_LABELS, TRAINABLE_SUBSETS, type Method } from "./finetune.ts";
import type { AlignmentRun } from "./pipeline.ts";
import { meanInterval, pairedDifference, winOf, type Interval } from "./stats.ts";

export type ModelRow = {
  key: string;
  label: string;
  likeRate: Interval;
  likeProbability: Interval;
  fidelity: Interval;
  quality: Interval;
  judgeScore: Interval;
  diversity: Interval;
  pixelDiversity: Interval;
  /** Paired against the base on the same cells. */
  vsBase: {
    likeRate: Interval;
    fidelity: Interval;
    diversityRatio: number;
    winJudge: Interval;
    winRaters: Interval;
  } | null;
};

export type Target = { name: string; met: boolean; detail: string };

export type AlignmentReport = {
  models: ModelRow[];
  /** wins[a][b]: share of cells where a's median image beats b's (judge score / rater P(like)). */
  winsJudge: Record<string, Record<string, Interval>>;
  winsRaters: Record<string, Record<string, Interval>>;
  /**
   * Per model soup (pipeline `soups`): its Δ P(like) against the base and against its own seeds' single runs (each
   * seed's run on that seed's cells), paired on cells; the rows themselves are in `models`.
   */
  soups: Array<{
    key: string;
    method: Method;
    members: number[];
    guidance: number;
    vsBase: Interval;
    vsSeeds: Interval;
  }>;
  /** KTO minus each other method's like rate, paired on cells. */
  ktoVs: Record<string, Interval>;
  /**
   * Per method, each training seed's Δ P(like) vs the base on that seed's own cells, and their mean ± 95% over the
   * seeds (half NaN with one seed): the run-to-run spread the cell intervals above do not contain.
   */
  perSeed: Record<string, { seeds: Array<{ seed: number; delta: Interval }>; overSeeds: Interval }>;
  rounds: Array<{
    round: number;
    labels: number;
    liked: number;
    likeRate: Interval;
    fidelity: Interval;
    diversity: Interval;
    winJudgeVsBase: Interval | null;
  }>;
  targets: Target[];
  failures: Array<{ method: string; seed: number; error: string }>;
};

const METRICS = [
  "likeRate",
  "likeProbability",
  "fidelity",
  "quality",
  "judgeScore",
  "diversity",
  "pixelDiversity",
] as const;

/** Merges a method's per-seed evaluations (each on its own seed's cells). */
function mergeRuns(evals: ModelEval[]): ModelEval | null {
  if (evals.length === 0) return null;
  return {
    id: evals[0]?.id ?? "",
    cells: evals.flatMap((e) => e.cells),
    summaries: evals.flatMap((e) => e.summaries),
    samplingMs: evals.reduce((a, e) => a + e.samplingMs, 0),
  };
}

/** Restricts cell metrics to the cells (k, prompt) present in `keys`, in the same order. */
function cellKeys(e: ModelEval): string[] {
  return [...e.cells].sort((a, b) => a.k - b.k || a.prompt - b.prompt).map((c) => `${c.k}:${c.prompt}`);
}

function aligned(a: ModelEval, b: ModelEval): { a: CellMetrics; b: CellMetrics } {
  const ka = cellKeys(a);
  const kb = cellKeys(b);
  const common = ka.filter((k) => kb.includes(k));
  const pick = (m: CellMetrics, keys: string[]): CellMetrics => {
    const idx = common.map((k) => keys.indexOf(k));
    return Object.fromEntries(
      Object.entries(m).map(([name, xs]) => [name, idx.map((i) => xs[i] as number)]),
    ) as CellMetrics;
  };
  return { a: pick(cellMetrics(a), ka), b: pick(cellMetrics(b), kb) };
}

const wins = (a: ModelEval, b: ModelEval, key: "medianJudgeScore" | "medianLikeProbability"): Interval => {
  const p = aligned(a, b);
  return meanInterval(p.a[key].map((x, i) => winOf(x, p.b[key][i] as number)));
};

export function buildReport(run: AlignmentRun): AlignmentReport {
  const failures = run.runs
    .filter((r) => r.error !== null)
    .map((r) => ({ method: r.method, seed: r.seed, error: r.error ?? "" }));
  const byMethod = new Map<Method, ModelEval>();
  for (const method of new Set(run.runs.map((r) => r.method))) {
    const merged = mergeRuns(
      run.runs.filter((r) => r.method === method && r.eval).map((r) => r.eval as ModelEval),
    );
    if (merged) byMethod.set(method, merged);
  }
  const base = run.base.eval;
  const soupRuns = (run.soups ?? []).filter((x) => x.eval !== null);
  const models: Array<[string, ModelEval]> = [
    ["base", base],
    ...[...byMethod.entries()],
    ...soupRuns.map((x) => [x.key, x.eval as ModelEval] as [string, ModelEval]),
  ];
  const soupLabel = new Map(
    soupRuns.map((x) => [
      x.key,
      `${METHOD_LABELS[x.method]}, soup of ${x.members.length} seeds${x.guidance === 1 ? "" : `, reward guidance w = ${x.guidance}`}`,
    ]),
  );
  const row = (key: string, e: ModelEval): ModelRow => {
    const m = cellMetrics(e);
    const metrics = Object.fromEntries(METRICS.map((k) => [k, meanInterval(m[k])])) as Record<
      (typeof METRICS)[number],
      Interval
    >;
    let vsBase: ModelRow["vsBase"] = null;
    if (key !== "base") {
      const p = aligned(e, base);
      vsBase = {
        likeRate: pairedDifference(p.a.likeRate, p.b.likeRate),
        fidelity: pairedDifference(p.a.fidelity, p.b.fidelity),
        diversityRatio: meanInterval(p.a.diversity).mean / meanInterval(p.b.diversity).mean,
        winJudge: wins(e, base, "medianJudgeScore"),
        winRaters: wins(e, base, "medianLikeProbability"),
      };
    }
    return {
      key,
      label: soupLabel.get(key) ?? METHOD_LABELS[key as Method | "base"] ?? key,
      ...metrics,
      vsBase,
    };
  };
  const rows = models.map(([k, e]) => row(k, e));
  const winsJudge: AlignmentReport["winsJudge"] = {};
  const winsRaters: AlignmentReport["winsRaters"] = {};
  for (const [ka, a] of models) {
    winsJudge[ka] = {};
    winsRaters[ka] = {};
    for (const [kb, b] of models) {
      if (ka === kb) continue;
      winsJudge[ka][kb] = wins(a, b, "medianJudgeScore");
      winsRaters[ka][kb] = wins(a, b, "medianLikeProbability");
    }
  }
  const kto = byMethod.get("kto");
  const ktoVs: Record<string, Interval> = {};
  if (kto) {
    for (const [k, e] of byMethod) {
      if (k === "kto") continue;
      const p = aligned(kto, e);
      ktoVs[k] = pairedDifference(p.a.likeRate, p.b.likeRate);
    }
  }
  const perSeed: AlignmentReport["perSeed"] = {};
  for (const method of byMethod.keys()) {
    const seeds = run.runs
      .filter((r) => r.method === method && r.eval)
      .map((r) => {
        const p = aligned(r.eval as ModelEval, base);
        return { seed: r.seed, delta: pairedDifference(p.a.likeProbability, p.b.likeProbability) };
      });
    if (seeds.length) perSeed[method] = { seeds, overSeeds: meanInterval(seeds.map((x) => x.delta.mean)) };
  }
  const soups: AlignmentReport["soups"] = soupRuns.flatMap((x) => {
    const seedsAlone = byMethod.get(x.method);
    if (!seedsAlone) return [];
    const e = x.eval as ModelEval;
    const vb = aligned(e, base);
    const vs = aligned(e, seedsAlone);
    return [
      {
        key: x.key,
        method: x.method,
        members: x.members,
        guidance: x.guidance,
        vsBase: pairedDifference(vb.a.likeProbability, vb.b.likeProbability),
        vsSeeds: pairedDifference(vs.a.likeProbability, vs.b.likeProbability),
      },
    ];
  });
  const rounds: AlignmentReport["rounds"] = [
    {
      round: 0,
      labels: 0,
      liked: 0,
      likeRate: meanInterval(cellMetrics(base).likeRate),
      fidelity: meanInterval(cellMetrics(base).fidelity),
      diversity: meanInterval(cellMetrics(base).diversity),
      winJudgeVsBase: null,
    },
    ...run.rounds.map((r) => {
      const m = cellMetrics(r.eval);
      return {
        round: r.round,
        labels: r.labels,
        liked: r.liked,
        likeRate: meanInterval(m.likeRate),
        fidelity: meanInterval(m.fidelity),
        diversity: meanInterval(m.diversity),
        winJudgeVsBase: wins(r.eval, base, "medianJudgeScore"),
      };
    }),
  ];
  return {
    models: rows,
    winsJudge,
    winsRaters,
    soups,
    ktoVs,
    perSeed,
    rounds,
    targets: checkTargets(rows, ktoVs, rounds, run),
    failures,
  };
}

const pts = (x: number) => `${(100 * x).toFixed(1)}`;
const iv = (i: Interval, scale = 100, d = 1) =>
  Number.isNaN(i.half)
    ? (i.mean * scale).toFixed(d)
    : `${(i.mean * scale).toFixed(d)} ± ${(i.half * scale).toFixed(d)}`;

const signedIv = (i: Interval) => `${i.mean >= 0 ? "+" : ""}${iv(i)}`;

function checkTargets(
  rows: ModelRow[],
  ktoVs: Record<string, Interval>,
  rounds: AlignmentReport["rounds"],
  run: AlignmentRun,
): Target[] {
  const t: Target[] = [];
  const kto = rows.find((r) => r.key === "kto");
  if (kto?.vsBase) {
    const v = kto.vsBase;
    t.push({
      name: "KTO like rate ≥ base + 15 points",
      met: v.likeRate.mean >= 0.15,
      detail: `Δ ${iv(v.likeRate)} points (base ${pts(rows[0]?.likeRate.mean ?? 0)}%, KTO ${pts(kto.likeRate.mean)}%)`,
    });
    t.push({
      name: "KTO win rate vs base ≥ 75% (judge-scored median image)",
      met: v.winJudge.mean >= 0.75,
      detail: `${iv(v.winJudge)}% (by rater P(like): ${iv(v.winRaters)}%)`,
    });
    t.push({
      name: "KTO fidelity ≥ base − 2 points",
      met: v.fidelity.mean >= -0.02,
      detail: `Δ ${iv(v.fidelity)} points`,
    });
    t.push({
      name: "KTO diversity ≥ 90% of base",
      met: v.diversityRatio >= 0.9,
      detail: `${(100 * v.diversityRatio).toFixed(1)}% of base`,
    });
  }
  for (const other of ["sft", "dpo"] as const) {
    const d = ktoVs[other];
    if (d)
      t.push({
        name: `KTO like rate ≥ ${other.toUpperCase()}`,
        met: d.mean >= 0,
        detail: `KTO − ${other.toUpperCase()} ${iv(d)} points${!Number.isNaN(d.half) && d.mean - d.half > 0 ? " (interval above 0)" : !Number.isNaN(d.half) && d.mean + d.half < 0 ? " (interval below 0)" : " (interval includes 0)"}`,
      });
    else
      t.push({
        name: `KTO like rate ≥ ${other.toUpperCase()}`,
        met: false,
        detail: `${other} did not train: ${run.runs.find((r) => r.method === other)?.error ?? "not run"}`,
      });
  }
  if (rounds.length > 1) {
    const lr = rounds.map((r) => r.likeRate.mean);
    const mono = lr.every((x, i) => i === 0 || x > (lr[i - 1] as number));
    const base = rounds[0];
    const last = rounds[rounds.length - 1];
    const fidOk = rounds.every((r) => r.fidelity.mean >= (base?.fidelity.mean ?? 0) - 0.02);
    const divOk = rounds.every((r) => r.diversity.mean >= 0.9 * (base?.diversity.mean ?? 0));
    t.push({
      name: "rounds: like rate rises every round",
      met: mono,
      detail: lr.map((x) => `${pts(x)}%`).join(" → "),
    });
    t.push({
      name: "rounds: fidelity and diversity kept (≥ base − 2 pt, ≥ 90%)",
      met: fidOk && divOk,
      detail: `fidelity ${rounds.map((r) => r.fidelity.mean.toFixed(3)).join(" → ")}; diversity ${rounds.map((r) => r.diversity.mean.toFixed(3)).join(" → ")}${last ? "" : ""}`,
    });
  }
  const minutes = (run.times.total ?? 0) / 60_000;
  t.push({ name: "whole benchmark < 60 min", met: minutes < 60, detail: `${minutes.toFixed(1)} min` });
  return t;
}

/** The sampler in words: "DDIM 20" (η = 0), "50 ancestral steps" (η = 1), or steps with η. */
export function samplerName(o: { samplingSteps: number; eta?: number }): string {
  const eta = o.eta ?? 0;
  if (eta === 0) return `DDIM ${o.samplingSteps}`;
  if (eta === 1) return `${o.samplingSteps} ancestral steps`;
  return `${o.samplingSteps} steps, η ${eta}`;
}

/** Markdown: the settings line, the main table, win rates, the round curve and the targets. */
export function reportMarkdown(
  run: AlignmentRun,
  r: AlignmentReport,
  files: { json: string; plots: string[]; sheet: string | null },
): string {
  const o = run.options;
  const lines: string[] = [];
  const cells = o.evalPrompts * o.seeds;
  lines.push(
    `Base \`${run.base.id}\` (${o.modelDir}); raters \`${o.ratersSource}\`. Labels: ${run.labelSet.count} images of the base model (${samplerName(o)}, guidance ${o.guidanceScale}) on ${run.labelSet.prompts} distinct training captions (a balanced shapes-world prompt set, held-out captions excluded), one binary vote each: ${run.labelSet.liked} liked (${pts(run.labelSet.liked / Math.max(1, run.labelSet.count))}%)${o.oracleLabels ? "; **oracle labels** (a diagnostic, `--oracle-labels`): each caption keeps its number of likes, given to its images of highest true P(like)" : ""}. ` +
      `Every method: ${o.budget.steps} steps × batch ${o.budget.batchSize} (lr ${o.budget.learningRate}, ${o.budget.warmupSteps} warm-up, round-config defaults otherwise: β ${o.budget.beta ?? 5000}, γ 0.8 for KTO, batch reference point, prompt dropout ${o.budget.promptDropout ?? 0.2}${(o.budget.trainingGuidance ?? 1) !== 1 ? `, trained on the guided prediction at scale ${o.budget.trainingGuidance}` : ""}${o.budget.trainable ? `, only the ${o.budget.trainable} parameter subset trained (${TRAINABLE_SUBSETS[o.budget.trainable].join(", ")})` : ""}), frozen base as reference in ONNX Runtime, ${o.seeds} training seed(s). ` +
      `Evaluation: ${o.evalPrompts} held-out prompts × ${o.evalImagesPerPrompt} images per seed (the same sampler), fresh votes of the same raters; ± = 95% t-interval over ${cells} (prompt, seed) cells, comparisons paired on cells. Total ${((run.times.total ?? 0) / 60_000).toFixed(1)} min.`,
  );
  lines.push("");
  lines.push(
    "| model | like rate % | Δ like vs base (pt) | win vs base % (judge) | win vs base % (raters) | fidelity | Δ fidelity (pt) | quality | diversity (4×4) | vs base | pixel diversity |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const m of r.models) {
    const v = m.vsBase;
    lines.push(
      `| ${m.label} | ${iv(m.likeRate)} | ${v ? iv(v.likeRate) : "—"} | ${v ? iv(v.winJudge) : "—"} | ${v ? iv(v.winRaters) : "—"} | ${iv(m.fidelity, 1, 3)} | ${v ? iv(v.fidelity) : "—"} | ${iv(m.quality, 1, 3)} | ${iv(m.diversity, 1, 3)} | ${v ? `${(100 * v.diversityRatio).toFixed(0)}%` : "—"} | ${iv(m.pixelDiversity, 1, 3)} |`,
    );
  }
  lines.push("");
  const soupKeys = new Set(r.soups.map((x) => x.key));
  const keys = r.models.map((m) => m.key).filter((k) => !soupKeys.has(k));
  lines.push(
    "Win rate of the row's model against the column's (per cell, the judge-scored median image; ties ½):",
  );
  lines.push("");
  lines.push(`| % | ${keys.join(" | ")} |`);
  lines.push(`|---|${keys.map(() => "---").join("|")}|`);
  for (const a of keys)
    lines.push(
      `| ${a} | ${keys.map((b) => (a === b ? "—" : iv(r.winsJudge[a]?.[b] ?? { mean: Number.NaN, half: Number.NaN, n: 0 }, 100, 0))).join(" | ")} |`,
    );
  lines.push("");
  if (Object.keys(r.ktoVs).length) {
    lines.push(
      `KTO's like rate minus each method's, paired: ${Object.entries(r.ktoVs)
        .map(([k, d]) => `${k} ${iv(d)} pt`)
        .join("; ")}.`,
    );
    lines.push("");
  }
  if (r.soups.length) {
    lines.push(
      `Model soups (each the mean of a method's ${o.seeds} seeds' weights, evaluated on all ${cells} cells; \`@wW\`: sampled with reward guidance against the base, ε_base + W·(ε_soup − ε_base)), Δ P(like) paired on cells against the base and against the same method's seeds alone: ${r.soups
        .map((x) => `${x.key} ${signedIv(x.vsBase)} vs base, ${signedIv(x.vsSeeds)} vs its seeds`)
        .join("; ")} (pt).`,
    );
    lines.push("");
  }
  const seeded = Object.entries(r.perSeed);
  if (seeded.some(([, v]) => v.seeds.length > 1)) {
    lines.push(
      `Δ P(like) vs base per training seed (pt, each seed on its own evaluation cells; then the mean ± 95% over seeds, the run-to-run spread the intervals above leave out): ${seeded
        .map(
          ([k, v]) =>
            `${k} ${v.seeds.map((x) => `${x.delta.mean >= 0 ? "+" : ""}${pts(x.delta.mean)}`).join(" / ")} (${iv(v.overSeeds)})`,
        )
        .join("; ")}.`,
    );
    lines.push("");
  }
  if (run.rounds.length) {
    lines.push(
      `Multi-round (KTO, ${o.roundBudget.steps} steps × ${o.roundBudget.batchSize} per round, each round's ${Math.floor(o.labels / o.rounds)} labels drawn from the previous round's model on the training prompts, the previous model as reference):`,
    );
    lines.push("");
    lines.push("| round | labels (liked) | like rate % | fidelity | diversity | win vs base % (judge) |");
    lines.push("|---|---|---|---|---|---|");
    for (const x of r.rounds)
      lines.push(
        `| ${x.round === 0 ? "0 (base)" : x.round} | ${x.round === 0 ? "—" : `${x.labels} (${x.liked})`} | ${iv(x.likeRate)} | ${iv(x.fidelity, 1, 3)} | ${iv(x.diversity, 1, 3)} | ${x.winJudgeVsBase ? iv(x.winJudgeVsBase) : "—"} |`,
      );
    lines.push("");
  }
  lines.push("| target | met | measured |");
  lines.push("|---|---|---|");
  for (const t of r.targets) lines.push(`| ${t.name} | ${t.met ? "yes" : "**no**"} | ${t.detail} |`);
  lines.push("");
  const ceiling = selectionParagraph(run.labelSet.selection, run.labelSet.likedDistribution);
  if (ceiling) {
    lines.push(ceiling);
    lines.push("");
  }
  const evidence = evidenceSection(run.labelSet.evidence, run.labelSet.headroom, run.labelSet.count);
  if (evidence) {
    lines.push(evidence);
    lines.push("");
  }
  if (r.failures.length) {
    lines.push(`Failed runs: ${r.failures.map((f) => `${f.method} seed ${f.seed}: ${f.error}`).join("; ")}.`);
    lines.push("");
  }
  const lostSoups = (run.soups ?? []).filter((x) => x.eval === null);
  if (lostSoups.length) {
    lines.push(
      `Soups not evaluated: ${lostSoups.map((x) => `${x.key}: ${x.error ?? "no evaluation"}`).join("; ")}.`,
    );
    lines.push("");
  }
  const tr = run.runs.filter((x) => x.training).map((x) => x.training);
  if (tr.length) {
    lines.push(
      `Training (median wall time per run ${Math.round(medianOf(tr.map((x) => x?.wallMs ?? 0)) / 1000)} s; final reward accuracy / z over the last 10% of steps): ${tr.map((x) => `${x?.method}#${x?.seed} ${x?.finalRewardAccuracy === null || x?.finalRewardAccuracy === undefined ? "—" : x.finalRewardAccuracy.toFixed(2)} / ${x?.finalZ === null || x?.finalZ === undefined ? "—" : x.finalZ.toExponential(1)}`).join(", ")}.`,
    );
    lines.push("");
  }
  const r0 = run.resources;
  lines.push(
    `This process used ${(r0.cpuMs / 60_000).toFixed(1)} CPU-min (all threads) in ${((run.times.total ?? 0) / 60_000).toFixed(1)} min of wall time; the machine's 1-min load average during the run was ${r0.loadAverage.mean.toFixed(1)} on average (max ${r0.loadAverage.max.toFixed(1)}) on ${availableParallelism()} cores.`,
  );
  lines.push("");
  lines.push(
    `Phases: ${Object.entries(run.times)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(0)} s`)
      .join(", ")}.`,
  );
  lines.push("");
  lines.push(
    `Plots: ${files.plots.map((p) => `\`${p}\``).join(", ")}${files.sheet ? `; contact sheet \`${files.sheet}\`` : ""}. JSON: \`${files.json}\`.`,
  );
  return lines.join("\n");
}

/**
 * The selection ceiling in words: how far choosing among the base's own images by the raters' true P(like) (an
 * oracle) moves the mean P(like), and which best-of-n the +15-point target amounts to.
 */
export function selectionParagraph(
  rows: AlignmentRun["labelSet"]["selection"],
  likedDistribution = Number.NaN,
): string | null {
  const one = rows.find((x) => x.n === 1);
  if (!one || rows.length < 2) return null;
  const reach = rows.find((x) => x.likeProbability >= one.likeProbability + 0.15);
  const last = rows[rows.length - 1] as (typeof rows)[number];
  return (
    `Selection ceiling (an oracle, for scale): per training caption, the best of n of the base's own labelled images ` +
    `chosen by the raters' true P(like), averaged over captions (weighted by their images) — ` +
    rows
      .map(
        (x) =>
          `${x.n === 1 ? "any one" : `best of ${x.n}`} ${pts(x.likeProbability)}%${x.n === 1 ? "" : ` (+${pts(x.likeProbability - one.likeProbability)} pt, KL ${x.kl.toFixed(2)} nats)`}`,
      )
      .join(", ") +
    `. ${Number.isNaN(likedDistribution) ? "" : `Drawing exactly the liked images' distribution per caption (what SFT on the liked images imitates, and KTO's desirable term pulls toward) gives ${pts(likedDistribution)}% (${likedDistribution >= one.likeProbability ? "+" : ""}${pts(likedDistribution - one.likeProbability)} pt). `}${reach ? `A +15-point gain by re-weighting what the base draws per prompt is best-of-${reach.n} selection.` : `A +15-point gain is beyond best-of-${last.n} selection among the base's own images: a model that only re-weights what its parent draws per prompt cannot reach it at that KL.`}`
  );
}

const FEATURE_NAMES: Record<VoteEvidence["rows"][number]["feature"], string> = {
  likeProbability: "true P(like) (the raters' population)",
  fidelity: "prompt fidelity",
  shapeFidelity: "shape fidelity",
  colourFidelity: "colour fidelity",
  sizeFidelity: "size fidelity",
  positionFidelity: "position fidelity",
  sharpness: "sharpness",
  contrast: "contrast",
  artefacts: "artefacts",
  warmth: "warmth",
};

/**
 * What the labels can teach: per judge feature, the within-caption liked − disliked difference under the votes and
 * under oracle labels, and the labelled images' P(like) with features moved. Null when the run has neither.
 */
export function evidenceSection(
  evidence: VoteEvidence | undefined,
  headroom: readonly HeadroomRow[] | undefined,
  labels: number,
): string | null {
  if (!evidence || evidence.rows.length === 0) return null;
  const signed = (x: number, d: number) => `${x >= 0 ? "+" : ""}${x.toFixed(d)}`;
  const cell = (c: VoteEvidence["rows"][number]["votes"]) =>
    Number.isNaN(c.mean) ? "— | —" : `${signed(c.mean, 4)} ± ${c.half.toFixed(4)} | ${c.z.toFixed(1)}`;
  const lines = [
    `What the labels can teach (the judge's features of the ${labels} labelled images, which no method sees): within a caption, mean feature of the liked images minus the disliked ones, over the ${evidence.mixedCaptions} of ${evidence.captions} captions that have both (± 95% over captions; z = mean / standard error), next to the same difference under oracle labels (each caption's likes given to its images of highest true P(like)):`,
    "",
    "| feature | liked − disliked (these labels) | z | oracle labels | z | within-caption sd |",
    "|---|---|---|---|---|---|",
    ...evidence.rows.map(
      (r) =>
        `| ${FEATURE_NAMES[r.feature]} | ${cell(r.votes)} | ${cell(r.oracle)} | ${r.withinSd.toFixed(3)} |`,
    ),
  ];
  const blind = evidence.rows.filter((r) => !(Math.abs(r.votes.z) >= 2)).map((r) => FEATURE_NAMES[r.feature]);
  const base = headroom?.[0];
  if (headroom && base) {
    lines.push("");
    lines.push(
      `Headroom (the raters' P(like) of the same images with their features moved; a counterfactual on the raters' inputs, not images a model drew): ${headroom
        .map(
          (h, i) =>
            `${h.change} ${pts(h.likeProbability)}%${i === 0 ? "" : ` (${signed(100 * (h.likeProbability - base.likeProbability), 1)} pt)`}`,
        )
        .join("; ")}.`,
    );
  }
  if (blind.length) {
    const sentence = `The labels carry no detectable within-caption evidence (|z| < 2) on: ${blind.join(", ")}.`;
    // After the headroom paragraph when there is one, else as its own paragraph under the table.
    if (headroom && base) lines[lines.length - 1] += ` ${sentence}`;
    else lines.push("", sentence);
  }
  return lines.join("\n");
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1] as number) : 0;
}
