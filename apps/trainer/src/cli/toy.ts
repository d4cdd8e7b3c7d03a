// `pnpm likewise toy`: Diffusion-KTO's toy experiment (paper §6, Fig. 6) end to end — pretrain a 2-D MLP
// diffusion model, fine-tune it with KTO (sigmoid), loss-averse, risk-seeking, SFT and DPO on the same
// labels and budget, then print a table per method, check the paper's qualitative findings, and write one
// scatter plot PNG per method. Deterministic for a given seed; about a minute on 2 cores.
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";

import { initBackend, runToyExperiment, scatterPlot, toyFindings, DEFAULT_TOY_OPTIONS, type ToyMethodResult, type ToyProgress } from "@likewise/kto";
import { encodePng } from "@likewise/serving";

import { env } from "../env.ts";
import { intOption, numberOption, parseOptions } from "./args.ts";
import { CliError } from "./errors.ts";
import { ProgressBar } from "./progress.ts";

const d = DEFAULT_TOY_OPTIONS;
const HELP = `Usage: pnpm likewise toy [options]

  --seed <n>            seed for data, weights, noise and sampling (default ${d.seed})
  --pretrain-steps <n>  pretraining steps (default ${d.pretrainSteps})
  --steps <n>           fine-tuning steps per method (default ${d.fineTuneSteps})
  --lr <x>              fine-tuning Adam learning rate (default ${d.fineTuneLearningRate})
  --beta <x>            β of KTO (all utilities) and DPO (default ${d.beta})
  --gamma <x>           positive ratio γ of the KTO sampler (default ${d.gamma})
  --batch <n>           points per step, even (default ${d.batchSize}; DPO: half as many pairs)
  --samples <n>         samples per method for the table and plots (default ${d.samples})
  --out <dir>           where the PNG scatter plots go (default $LIKEWISE_HOME/toy)
  --json                print the results as JSON instead of a table
  --strict              exit 1 when a finding of the paper is not reproduced (✗)`;

const pct = (v: number) => `${(100 * v).toFixed(1)}%`.padStart(7);
const num = (v: number) => v.toFixed(3).padStart(7);

/** The results as a Markdown table (the format BENCHMARKS.md records). */
export function toyTable(results: readonly ToyMethodResult[]): string {
  const rows = results.map((r) => {
    const s = r.stats;
    return `| ${r.method.padEnd(12)} | ${pct(s.nearDesirable)} | ${pct(s.nearUndesirable)} | ${num(s.meanDistDesirable)} | ${num(s.meanDistUndesirable)} | ${pct(s.outsideSupport)} | ${pct(s.outsideDesirable)} |`;
  });
  return [
    "| method       | near D  | near U  | dist D  | dist U  | out sup | out D   |",
    "|--------------|---------|---------|---------|---------|---------|---------|",
    ...rows,
  ].join("\n");
}

export async function run(argv: string[]): Promise<void> {
  const o = parseOptions(argv, {
    seed: { type: "string" },
    "pretrain-steps": { type: "string" },
    steps: { type: "string" },
    lr: { type: "string" },
    beta: { type: "string" },
    gamma: { type: "string" },
    batch: { type: "string" },
    samples: { type: "string" },
    out: { type: "string" },
    json: { type: "boolean" },
    strict: { type: "boolean" },
    help: { type: "boolean" },
  });
  if (o.help) return void console.log(HELP);
  const options = {
    seed: intOption(o.seed, "seed", d.seed, 0, 2 ** 31 - 1),
    pretrainSteps: intOption(o["pretrain-steps"], "pretrain-steps", d.pretrainSteps, 1, 1_000_000),
    fineTuneSteps: intOption(o.steps, "steps", d.fineTuneSteps, 1, 1_000_000),
    fineTuneLearningRate: numberOption(o.lr, "lr", d.fineTuneLearningRate, 1e-7, 1),
    beta: numberOption(o.beta, "beta", d.beta, 1e-6, 1e6),
    gamma: numberOption(o.gamma, "gamma", d.gamma, 0, 1),
    batchSize: intOption(o.batch, "batch", d.batchSize, 2, 8192),
    samples: intOption(o.samples, "samples", d.samples, 10, 1_000_000),
  };
  if (options.batchSize % 2 !== 0) throw new CliError(`--batch must be even (DPO trains on pairs), got ${options.batchSize}`, 2);
  const out = resolve(o.out ?? join(env.home, "toy"));

  const info = await initBackend("wasm");
  console.error(`backend ${info.backend}`);
  const t0 = performance.now();
  let bar: ProgressBar | undefined;
  let phase = "";
  const onProgress = (p: ToyProgress) => {
    if (p.phase !== phase) {
      bar?.finish();
      phase = p.phase;
      bar = new ProgressBar({ label: p.phase === "pretrained" ? "pretrain" : `fine-tune ${p.phase}`, total: p.total, unit: "step" });
    }
    bar?.update(p.step, `loss ${p.loss.toFixed(4)}`);
  };
  const { results } = runToyExperiment(options, onProgress);
  bar?.finish();
  const seconds = (performance.now() - t0) / 1000;

  await mkdir(out, { recursive: true });
  for (const r of results) await writeFile(join(out, `toy-${r.method}.png`), encodePng(scatterPlot(r.samples)));
  const findings = toyFindings(results);

  if (o.json) {
    console.log(JSON.stringify({ options, seconds, results: results.map((r) => ({ method: r.method, stats: r.stats, finalMetrics: r.finalMetrics })), findings }, null, 2));
  } else {
    console.log(toyTable(results));
    console.log("\nnear D/U: share within 0.1 (1 σ) of the desirable (0.3, 0.8) / undesirable (0.3, 0.6) mode; dist: mean distance;");
    console.log("out sup: farther than 3 σ (0.6) from the pretraining mean (0.5, 0.8); out D: farther than 0.25 (2.5 σ) from the desirable mode.\n");
    for (const f of findings) console.log(`${f.holds ? "✓" : "✗"} ${f.claim}: ${f.evidence}`);
    console.log(`\n${results.length} methods × ${options.samples} samples in ${seconds.toFixed(0)} s; plots in ${relative(process.cwd(), out) || "."}/toy-<method>.png`);
  }
  if (o.strict && findings.some((f) => !f.holds)) throw new CliError("the paper's qualitative finding was not reproduced with these options (see ✗ above)");
}
