// `pnpm bench train-throughput [--steps N] [--warmup W] [--rounds R] [--batch B] [--size S] [--no-torch]`:
// tfjs training speed of the default `tiny` config (wasm backend, fast custom gradients, JS Adam)
// at 32 px batch 16 on 1 and 2 data-parallel workers — img/s, effective GFLOP/s (3 × forward FLOPs
// from SpecOps × batch / step time) and peak RSS — plus the same architecture and batch in PyTorch
// on the CPU (Debian's python3-torch, bench/pytorch/train_unet.py) in the same run, and the ratio.
// Medians over steps after warm-up; the cores other processes used meanwhile are measured too.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { createModelConfig, createRng, describeModel, Trainer, type TrainingSet } from "@likewise/kto";

import { median, writeResult } from "./lib/results";

const HERE = dirname(fileURLToPath(import.meta.url));
const BENCHMARKS_MD = join(HERE, "..", "BENCHMARKS.md");
const SECTION_START = "<!-- bench:train-throughput:start -->";
const SECTION_END = "<!-- bench:train-throughput:end -->";
/** Debian's interpreter: python3-torch installs into /usr/lib/python3/dist-packages. */
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const TARGET_IMG_S = 15;

function argValue(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  const v = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
}

function machineBusyMs(): number {
  return cpus().reduce((a, c) => a + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
}

/** Random images in [-1, 1] and random token ids: throughput does not depend on content. */
function randomSet(n: number, size: number, contextLength: number, vocab: number): TrainingSet {
  const rng = createRng(1234);
  const images = rng.fillUniform(new Float32Array(n * size * size * 3), -1, 1);
  const tokens = new Int32Array(n * contextLength).map(() => rng.int(vocab));
  return { size: n, tokens, images };
}

type TfRun = {
  workers: number;
  backend: string;
  stepMs: number[];
  medianStepMs: number;
  minStepMs: number;
  imagesPerSecond: number;
  effectiveGflops: number;
  /** CPU time of the whole process (main + worker threads) per step, median. */
  cpuMsPerStep: number;
  peakRssMb: number;
  foreignCores: number;
};

type Opts = { size: 16 | 24 | 32; batch: number; steps: number; warmup: number };

async function createTrainer(workers: number, o: Opts): Promise<Trainer> {
  const config = createModelConfig({ imageSize: o.size });
  const data = randomSet(256, o.size, config.text.contextLength, config.text.vocabSize);
  return Trainer.create({
    config,
    data,
    seed: 1,
    batchSize: o.batch,
    workers,
    learningRate: 1e-4,
    backend: "wasm",
  });
}

/** Peak RSS of the process while a trainer with `workers` runs its warm-up steps alone (workers are threads). */
async function peakRss(workers: number, o: Opts): Promise<number> {
  const trainer = await createTrainer(workers, o);
  let peak = process.memoryUsage().rss;
  try {
    for (let i = 0; i < Math.max(2, o.warmup); i++) {
      await trainer.runStep();
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  } finally {
    await trainer.close();
  }
  return peak / 1e6;
}

/**
 * Times 1-worker and 2-worker trainers with their steps interleaved (1, 2, 1, 2, …), so load from
 * other processes on the shared cores hits both alike.
 */
async function measureTf(o: Opts, rss: Record<number, number>): Promise<TfRun[]> {
  const spec = describeModel(createModelConfig({ imageSize: o.size }));
  const trainers = [await createTrainer(1, o), await createTrainer(2, o)];
  try {
    for (const t of trainers) for (let i = 0; i < o.warmup; i++) await t.runStep();
    const wall: number[][] = trainers.map(() => []);
    const cpu: number[][] = trainers.map(() => []);
    const busy = trainers.map(() => ({ wall: 0, foreign: 0 }));
    for (let i = 0; i < o.steps; i++) {
      for (const [k, t] of trainers.entries()) {
        const busy0 = machineBusyMs();
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await t.runStep();
        const ms = performance.now() - t0;
        const c = process.cpuUsage(c0);
        const ownMs = (c.user + c.system) / 1000;
        wall[k]?.push(ms);
        cpu[k]?.push(ownMs);
        const b = busy[k];
        if (b) {
          b.wall += ms;
          b.foreign += Math.max(0, machineBusyMs() - busy0 - ownMs);
        }
      }
    }
    return trainers.map((t, k) => {
      const stepMs = wall[k] ?? [];
      const med = median(stepMs);
      const r: TfRun = {
        workers: k + 1,
        backend: t.backend.name,
        stepMs: stepMs.map((x) => Math.round(x)),
        medianStepMs: med,
        minStepMs: Math.min(...stepMs),
        imagesPerSecond: (o.batch * 1000) / med,
        effectiveGflops: (3 * spec.flopsPerImage.total * o.batch) / (med / 1000) / 1e9,
        cpuMsPerStep: median(cpu[k] ?? []),
        peakRssMb: rss[k + 1] ?? Number.NaN,
        foreignCores: (busy[k]?.foreign ?? 0) / (busy[k]?.wall ?? 1),
      };
      console.log(
        `tfjs ${r.workers} worker(s): ${r.medianStepMs.toFixed(0)} ms/step median (min ${r.minStepMs.toFixed(0)}), ` +
          `${r.imagesPerSecond.toFixed(1)} img/s, ${r.effectiveGflops.toFixed(1)} GFLOP/s effective, CPU ${r.cpuMsPerStep.toFixed(0)} ms/step, ` +
          `peak RSS ${r.peakRssMb.toFixed(0)} MB, other processes ${r.foreignCores.toFixed(2)} cores`,
      );
      return r;
    });
  } finally {
    for (const t of trainers) await t.close();
  }
}

type TorchRun =
  | {
      available: true;
      torch: string;
      threads: number;
      params: number;
      stepMs: number[];
      medianStepMs: number;
      imagesPerSecond: number;
      peakRssMb: number;
      foreignCores: number;
    }
  | { available: false; reason: string };

function measureTorch(o: { size: number; batch: number; steps: number; warmup: number }): TorchRun {
  try {
    execFileSync(PYTHON, ["-c", "import torch"], { stdio: "pipe" });
  } catch {
    return {
      available: false,
      reason: `${PYTHON} cannot import torch (install Debian's python3-torch: apt-get install -y python3-torch)`,
    };
  }
  const script = join(HERE, "pytorch", "train_unet.py");
  const args = [
    script,
    "--size",
    String(o.size),
    "--batch",
    String(o.batch),
    "--steps",
    String(o.steps),
    "--warmup",
    String(o.warmup),
    "--threads",
    "2",
  ];
  const busy0 = machineBusyMs();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const out = execFileSync(PYTHON, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const wall = performance.now() - t0;
  const own = process.cpuUsage(own0);
  const parsed = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as {
    torch: string;
    threads: number;
    params: number;
    stepMs: number[];
    medianStepMs: number;
    imagesPerSecond: number;
    peakRssMb: number;
    cpuMs: number;
  };
  // Other processes' load: machine busy time minus ours and the Python child's own CPU time.
  const foreignCores = Math.max(
    0,
    (machineBusyMs() - busy0 - (own.user + own.system) / 1000 - parsed.cpuMs) / wall,
  );
  console.log(
    `PyTorch ${parsed.torch} (${parsed.threads} threads): ${parsed.medianStepMs.toFixed(0)} ms/step median, ${parsed.imagesPerSecond.toFixed(1)} img/s, ` +
      `peak RSS ${parsed.peakRssMb.toFixed(0)} MB, other processes ${foreignCores.toFixed(2)} cores`,
  );
  return {
    available: true,
    torch: parsed.torch,
    threads: parsed.threads,
    params: parsed.params,
    stepMs: parsed.stepMs.map((x) => Math.round(x)),
    medianStepMs: parsed.medianStepMs,
    imagesPerSecond: parsed.imagesPerSecond,
    peakRssMb: parsed.peakRssMb,
    foreignCores,
  };
}

function writeSection(body: string): void {
  let md: string;
  try {
    md = readFileSync(BENCHMARKS_MD, "utf8");
  } catch {
    md =
      "# Benchmarks\n\nMeasured on the project's 2-core CPU machine; each section is rewritten by its `pnpm bench <name>`.\n";
  }
  const section = `${SECTION_START}\n${body.trim()}\n${SECTION_END}`;
  const a = md.indexOf(SECTION_START);
  const b = md.indexOf(SECTION_END);
  md =
    a >= 0 && b > a
      ? md.slice(0, a) + section + md.slice(b + SECTION_END.length)
      : `${md.trimEnd()}\n\n${section}\n`;
  writeFileSync(BENCHMARKS_MD, md);
}

export default async function trainThroughput(argv: string[]): Promise<unknown> {
  const steps = argValue(argv, "--steps", 8);
  const warmup = argValue(argv, "--warmup", 2);
  const batch = argValue(argv, "--batch", 16);
  const size = argValue(argv, "--size", 32) as 16 | 24 | 32;
  const withTorch = !argv.includes("--no-torch");
  const spec = describeModel(createModelConfig({ imageSize: size }));
  const o = { size, batch, steps, warmup };

  const rounds = Math.max(1, argValue(argv, "--rounds", 1));
  const rss = { 1: await peakRss(1, o), 2: await peakRss(2, o) };
  // On a shared machine, each round measures everything again; the headline is the round in which
  // other processes used the fewest cores (every round is kept in the JSON).
  const all: { one: TfRun; two: TfRun; torch: TorchRun; foreignCores: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    const [r1, r2] = (await measureTf(o, rss)) as [TfRun, TfRun];
    const rt: TorchRun = withTorch ? measureTorch(o) : { available: false, reason: "skipped (--no-torch)" };
    const loads = [r1.foreignCores, r2.foreignCores, ...(rt.available ? [rt.foreignCores] : [])];
    all.push({ one: r1, two: r2, torch: rt, foreignCores: loads.reduce((a, b) => a + b, 0) / loads.length });
    console.log(
      `round ${i + 1}/${rounds}: other processes used ${all.at(-1)?.foreignCores.toFixed(2)} cores on average`,
    );
  }
  const best = all.reduce((a, b) => (b.foreignCores < a.foreignCores ? b : a));
  const { one, two, torch } = best;
  const ratio = torch.available ? two.imagesPerSecond / torch.imagesPerSecond : null;
  // Medians over the quiet rounds (other processes < 0.25 cores), or the least-loaded round.
  const quiet = all.filter((r) => r.foreignCores < 0.25);
  const pool = quiet.length > 0 ? quiet : [best];
  const med = (f: (r: (typeof all)[number]) => number | null): number | null => {
    const xs = pool.map(f).filter((x): x is number => x !== null);
    return xs.length ? median(xs) : null;
  };
  const summary = {
    quietRounds: quiet.length,
    oneWorkerImgS: med((r) => r.one.imagesPerSecond) ?? Number.NaN,
    twoWorkersImgS: med((r) => r.two.imagesPerSecond) ?? Number.NaN,
    pytorchImgS: med((r) => (r.torch.available ? r.torch.imagesPerSecond : null)),
    likewiseOverPytorch: med((r) =>
      r.torch.available ? r.two.imagesPerSecond / r.torch.imagesPerSecond : null,
    ),
  };
  console.log(`summary over ${pool.length} round(s): ${JSON.stringify(summary)}`);
  if (ratio !== null) console.log(`Likewise (2 workers) / PyTorch (2 threads): ${ratio.toFixed(2)}×`);
  else console.log(`PyTorch: ${torch.available ? "" : torch.reason}`);

  const path = writeResult("train-throughput", {
    config: {
      imageSize: size,
      batch,
      params: spec.paramCount,
      forwardGflopPerImage: spec.flopsPerImage.total / 1e9,
    },
    steps,
    warmup,
    rounds: all.map((r) => ({
      foreignCores: r.foreignCores,
      oneWorkerImgS: r.one.imagesPerSecond,
      twoWorkersImgS: r.two.imagesPerSecond,
      pytorchImgS: r.torch.available ? r.torch.imagesPerSecond : null,
    })),
    headlineRound: all.indexOf(best) + 1,
    summary,
    tfjs: { oneWorker: one, twoWorkers: two, speedup: two.imagesPerSecond / one.imagesPerSecond },
    pytorch: torch,
    likewiseOverPytorch: ratio,
    targetImagesPerSecond: TARGET_IMG_S,
    targetMet: summary.twoWorkersImgS >= TARGET_IMG_S,
  });
  console.log(`wrote ${path}`);

  const row = (label: string, r: TfRun) =>
    `| ${label} | ${r.medianStepMs.toFixed(0)} (${r.minStepMs.toFixed(0)}) | **${r.imagesPerSecond.toFixed(1)}** | ${r.effectiveGflops.toFixed(1)} | ${r.cpuMsPerStep.toFixed(0)} | ${r.peakRssMb.toFixed(0)} | ${r.foreignCores.toFixed(2)} |`;
  const torchRow = torch.available
    ? `| PyTorch ${torch.torch} CPU, 2 threads (same architecture, ${torch.params.toLocaleString("en-US")} params) | ${torch.medianStepMs.toFixed(0)} (${Math.min(...torch.stepMs).toFixed(0)}) | **${torch.imagesPerSecond.toFixed(1)}** | ${((3 * spec.flopsPerImage.total * batch) / (torch.medianStepMs / 1000) / 1e9).toFixed(1)} | — | ${torch.peakRssMb.toFixed(0)} | ${torch.foreignCores.toFixed(2)} |`
    : `| PyTorch | not run: ${torch.reason} | | | | | |`;
  writeSection(
    [
      `## Training throughput (tfjs wasm, \`pnpm bench train-throughput\`)`,
      ``,
      `Default \`tiny\` config, ${size} px, batch ${batch}, ${spec.paramCount.toLocaleString("en-US")} parameters, ${(spec.flopsPerImage.total / 1e9).toFixed(3)} GFLOP/image forward (SpecOps). ` +
        `One step = forward, denoising MSE, gradients of every parameter (fast custom gradients), global-norm clip, Adam. ` +
        `Medians of ${steps} steps after ${warmup} warm-up steps, the 1- and 2-worker trainers' steps interleaved so machine load hits both alike; ` +
        `${rounds} round(s), the table shows the round in which other processes used the fewest cores (all rounds: ${all.map((r) => `${r.two.imagesPerSecond.toFixed(1)} img/s at ${r.foreignCores.toFixed(2)} foreign cores`).join("; ")}); effective GFLOP/s = 3 × forward FLOPs × batch / step time; peak RSS of the whole process (workers are threads) while that trainer ran alone. ` +
        `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}) shared with other work — the last column is how many cores other processes used meanwhile. Written ${new Date().toISOString().slice(0, 16)}Z.`,
      ``,
      `Median over ${pool.length} ${quiet.length > 0 ? "quiet round(s) (other processes < 0.25 cores)" : "least-loaded round"}: ` +
        `**2 workers: ${summary.twoWorkersImgS.toFixed(1)} img/s** (target ≥ ${TARGET_IMG_S}: ${summary.twoWorkersImgS >= TARGET_IMG_S ? "met" : "NOT met"}), 1 worker ${summary.oneWorkerImgS.toFixed(1)} img/s` +
        (summary.pytorchImgS !== null && summary.likewiseOverPytorch !== null
          ? `; PyTorch ${summary.pytorchImgS.toFixed(1)} img/s; **Likewise / PyTorch = ${summary.likewiseOverPytorch.toFixed(2)}×**.`
          : `; PyTorch not run.`),
      ``,
      `Least-loaded round in detail:`,
      ``,
      `| trainer | ms/step median (min) | img/s | effective GFLOP/s | CPU ms/step (all threads) | peak RSS MB | other processes (cores) |`,
      `|---|---|---|---|---|---|---|`,
      row("tfjs-wasm, 1 worker thread", one),
      row("tfjs-wasm, 2 worker threads (data-parallel)", two),
      torchRow,
      ``,
      `PyTorch is Debian's \`python3-torch\` (\`apt-get install -y python3-torch\`, run with ${PYTHON}) executing bench/pytorch/train_unet.py, the same architecture written in torch.nn (same parameter count), same batch, Adam, 2 intra-op threads. ` +
        `The tfjs figures need free cores: while other processes used ~1.3–1.5 of the 2 cores, runs of this benchmark gave 5–10 img/s, and 2 workers were no faster than 1 (both wait for time slices); the "CPU ms/step" column is the load-independent cost.`,
      ``,
      `JSON: \`bench/results/train-throughput.json\`.`,
    ].join("\n"),
  );
  return { one, two, torch, ratio };
}
