// `pnpm bench sampling [--runs N] [--steps S] [--model dir]`: serving speed on ONNX Runtime (CPU).
// 1. Latency of 16 images × 25 DDIM steps with classifier-free guidance (32-row forwards) at the
//    default 32 px config — target < 1.5 s — for each host variant (1 thread, 2 threads with and
//    without spin-wait), plus a no-guidance run.
// 1b. What users get: the served model version (models/base, 16 px) with the pool sampler (50 ancestral steps,
//    guidance 3, apps/trainer POOL_SAMPLING), 16 images, on the serving default host, interleaved with 1.
// 2. Forward throughput (img/s, GFLOP/s) at batches 1/8/16/32: 1 vs 2 intra-op threads.
// All sessions live side by side and are measured interleaved, so machine load (2 shared cores)
// hits them alike; every figure is a median over runs after a warm-up, and the CPU time other
// processes used meanwhile is recorded.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, getPriority, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { format } from "prettier";

import { createSchedule, DEFAULT_MODEL_CONFIG, describeModel, exportOnnx, initWeights } from "@likewise/kto";
import {
  DEFAULT_HOST_OPTIONS,
  GaussianRng,
  loadModel,
  ModelHost,
  sampleImages,
  Tokenizer,
  type DiffusionModel,
  type ModelHostOptions,
} from "@likewise/serving";

import { evaluationPrompts } from "@likewise/synth";

import { readModelVersion } from "../apps/trainer/src/artifact.ts";
import { POOL_SAMPLING } from "../apps/trainer/src/sampling.ts";
import { hostLine, median, writeResult } from "./lib/results";

const BENCHMARKS_MD = join(dirname(fileURLToPath(import.meta.url)), "..", "BENCHMARKS.md");
const SECTION_START = "<!-- bench:sampling:start -->";
const SECTION_END = "<!-- bench:sampling:end -->";
/** The variant that matches the serving defaults (DEFAULT_HOST_OPTIONS); the headline figure. */
const DEFAULT_VARIANT = DEFAULT_HOST_OPTIONS.intraOpNumThreads === 1 ? "1 thread" : "2 threads";
/** The served model version measured in 1b (committed in the repository). */
const SERVED_MODEL = join(dirname(fileURLToPath(import.meta.url)), "..", "models", "base");

function argValue(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  const v = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 1) throw new Error(`${name} must be a positive number`);
  return v;
}

/** CPU time (ms) spent by every process on the machine so far, from /proc/stat via os.cpus(). */
function machineBusyMs(): number {
  return cpus().reduce((a, c) => a + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
}

/**
 * Measures how many cores OTHER processes used while `fn` ran (machine busy time − our own CPU
 * time, per wall-clock second): the honest context for timings on a shared machine.
 */
async function withForeignLoad<R>(fn: () => Promise<R>): Promise<{ result: R; foreignCores: number }> {
  const busy0 = machineBusyMs();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const own = process.cpuUsage(own0);
  const wall = performance.now() - t0;
  const foreign = machineBusyMs() - busy0 - (own.user + own.system) / 1000;
  return { result, foreignCores: Math.max(0, foreign / wall) };
}

type Latency = {
  medianMs: number;
  minMs: number;
  forwardMs: number;
  updateMs: number;
  cpuMs: number;
  runsMs: number[];
};

/** Runs of [total, ORT forward, x update, process CPU] ms → medians (and the min and every run's total). */
function latencyOf(rows: readonly number[][]): Latency {
  const total = rows.map((x) => x[0] ?? 0);
  return {
    medianMs: median(total),
    minMs: Math.min(...total),
    forwardMs: median(rows.map((x) => x[1] ?? 0)),
    updateMs: median(rows.map((x) => x[2] ?? 0)),
    cpuMs: median(rows.map((x) => x[3] ?? 0)),
    runsMs: total.map((v) => Math.round(v)),
  };
}

/** Replaces (or appends) this benchmark's section of BENCHMARKS.md, leaving other sections alone. */
async function writeSection(body: string): Promise<void> {
  let md: string;
  try {
    md = readFileSync(BENCHMARKS_MD, "utf8");
  } catch {
    md =
      "# Benchmarks\n\nMeasured on the project's 2-core CPU machine; each section is rewritten by its `pnpm bench <name>`.\n";
  }
  // Formatted like the rest of the repository so `pnpm format:check` passes on the generated text.
  const section = (
    await format(`${SECTION_START}\n\n${body.trim()}\n\n${SECTION_END}`, {
      parser: "markdown",
      printWidth: 110,
    })
  ).trim();
  const a = md.indexOf(SECTION_START);
  const b = md.indexOf(SECTION_END);
  md =
    a >= 0 && b > a
      ? md.slice(0, a) + section + md.slice(b + SECTION_END.length)
      : `${md.trimEnd()}\n\n${section}\n`;
  writeFileSync(BENCHMARKS_MD, md);
}

export default async function sampling(argv: string[]): Promise<unknown> {
  const runs = argValue(argv, "--runs", 5);
  const steps = argValue(argv, "--steps", 25);
  const mi = argv.indexOf("--model");
  const servedDir = mi >= 0 ? (argv[mi + 1] ?? "") : SERVED_MODEL;
  if (mi >= 0 && !argv[mi + 1]) throw new Error("--model needs a model version directory");
  const cfg = DEFAULT_MODEL_CONFIG;
  const spec = describeModel(cfg);
  const gflopPerImage = spec.flopsPerImage.total / 1e9;
  // Untrained weights: speed does not depend on their values.
  const onnx = exportOnnx(cfg, initWeights(spec.decls, 1), { producerVersion: "bench" });
  const vocab = ["<pad>", "<unk>", ...Array.from({ length: cfg.text.vocabSize - 2 }, (_, i) => `w${i}`)];
  const tokenizer = new Tokenizer(vocab, cfg.text.contextLength);
  const alphasCumprod = createSchedule().alphasCumprod;
  const shape = { imageSize: cfg.imageSize, contextLength: cfg.text.contextLength };
  const size = cfg.imageSize;
  console.log(
    `model: default tiny config, ${size} px, ${spec.paramCount} params, ${gflopPerImage.toFixed(3)} GFLOP/img forward, ONNX ${(onnx.length / 1e6).toFixed(2)} MB`,
  );

  // Host variants, created up front and measured interleaved.
  const variants = {
    "1 thread": { intraOpNumThreads: 1 },
    "2 threads": { intraOpNumThreads: 2 },
    "2 threads, no spin-wait": { intraOpNumThreads: 2, allowSpinning: false },
  } as const satisfies Record<string, ModelHostOptions>;
  type Variant = keyof typeof variants;
  const created = performance.now();
  const hosts = {} as Record<Variant, ModelHost>;
  for (const [name, options] of Object.entries(variants) as [Variant, ModelHostOptions][]) {
    hosts[name] = await ModelHost.create(onnx, shape, { ...options, warmUpBatch: 0 });
  }
  const createMs = performance.now() - created;
  // 1b: the served version on the serving default host (loadModel verifies the manifest and ONNX hash).
  const served = await loadModel(servedDir, { ...DEFAULT_HOST_OPTIONS });
  const servedSpec = describeModel((await readModelVersion(servedDir)).config);
  const servedName = `served: ${served.manifest.id}, ${served.host.shape.imageSize} px, ${POOL_SAMPLING.steps} ancestral steps, guidance ${POOL_SAMPLING.guidanceScale}`;
  // 16 of the held-out evaluation prompts, strictly in the model's vocabulary (as the gallery's pool prompts are).
  const servedPrompts = evaluationPrompts(16).map((p) => p.caption);

  // ---- 1. sampling latency ------------------------------------------------------------------
  const prompts = Array.from({ length: 16 }, (_, i) => `w${i % 60} w${(i * 7) % 60} w${(i * 13) % 60}`);
  const seeds = prompts.map((_, i) => i);
  const scenarios: { name: string; host: Variant; guidanceScale: number }[] = [
    ...(Object.keys(variants) as Variant[]).map((host) => ({
      name: `${host}, guidance 3`,
      host,
      guidanceScale: 3,
    })),
    { name: "2 threads, no guidance", host: "2 threads", guidanceScale: 1 },
  ];
  const latency: Record<string, Latency> = {};
  const samples: Record<string, number[][]> = {};
  const servedRuns: number[][] = [];
  for (const s of scenarios) samples[s.name] = [];
  const samplingLoad = await withForeignLoad(async () => {
    for (let r = -1; r < runs; r++) {
      {
        const cpu0 = process.cpuUsage();
        const res = await sampleImages(served, {
          prompts: servedPrompts,
          seeds,
          ...POOL_SAMPLING,
          strictVocabulary: true,
        });
        const cpu = process.cpuUsage(cpu0);
        if (r >= 0)
          servedRuns.push([
            res.timings.totalMs,
            res.timings.forwardMs,
            res.timings.updateMs,
            (cpu.user + cpu.system) / 1000,
          ]);
      }
      for (const s of scenarios) {
        const model: DiffusionModel = { host: hosts[s.host], tokenizer, alphasCumprod };
        const cpu0 = process.cpuUsage();
        const res = await sampleImages(model, { prompts, seeds, steps, guidanceScale: s.guidanceScale });
        const cpu = process.cpuUsage(cpu0);
        // r = -1 is warm-up. CPU time (all our threads) is the work done, much less sensitive to other load than wall time.
        if (r >= 0)
          samples[s.name]?.push([
            res.timings.totalMs,
            res.timings.forwardMs,
            res.timings.updateMs,
            (cpu.user + cpu.system) / 1000,
          ]);
      }
    }
  });
  console.log(
    `other processes used ${samplingLoad.foreignCores.toFixed(2)} of ${cpus().length} cores during the sampling runs`,
  );
  for (const s of scenarios) {
    const l = latencyOf(samples[s.name] ?? []);
    latency[s.name] = l;
    console.log(
      `sample 16 × ${steps} steps, ${s.name}: median ${l.medianMs.toFixed(0)} ms (min ${l.minMs.toFixed(0)})`,
    );
  }

  const servedLatency = latencyOf(servedRuns);
  console.log(`sample 16, ${servedName}: median ${servedLatency.medianMs.toFixed(0)} ms`);
  await served.host.release();

  // ---- 2. forward throughput ----------------------------------------------------------------
  const batches = [1, 8, 16, 32];
  const forwardVariants: Variant[] = ["1 thread", "2 threads"];
  const throughput: {
    batch: number;
    variant: Variant;
    medianMs: number;
    imgPerSec: number;
    gflops: number;
  }[] = [];
  const forwardRuns = Math.max(runs * 2, 7);
  const forwardLoad = await withForeignLoad(async () => {
    const inputs = batches.map((batch) => {
      const x = new Float32Array(batch * size * size * 3);
      new GaussianRng(batch).fillGaussian(x);
      return {
        batch,
        tokens: tokenizer.encodeBatch(
          Array.from({ length: batch }, (_, i) => (i < 16 ? (prompts[i] ?? "") : "")),
        ),
        x,
        t: Float32Array.from({ length: batch }, (_, i) => (i * 37) % 1000),
      };
    });
    const times = new Map<string, number[]>();
    // Round-robin over every (batch, variant) cell, so a burst of foreign load spreads over all cells
    // instead of spoiling one; rounds −2 and −1 are warm-up.
    for (let r = -2; r < forwardRuns; r++) {
      for (const input of inputs) {
        for (const v of forwardVariants) {
          const t0 = performance.now();
          await hosts[v].forward(input);
          const key = `${input.batch}|${v}`;
          if (r >= 0) times.set(key, [...(times.get(key) ?? []), performance.now() - t0]);
        }
      }
    }
    for (const batch of batches) {
      for (const v of forwardVariants) {
        const ms = median(times.get(`${batch}|${v}`) ?? []);
        const row = {
          batch,
          variant: v,
          medianMs: ms,
          imgPerSec: (batch * 1000) / ms,
          gflops: (gflopPerImage * batch * 1000) / ms,
        };
        throughput.push(row);
        console.log(
          `forward B=${batch} ${v}: ${ms.toFixed(2)} ms, ${row.imgPerSec.toFixed(0)} img/s, ${row.gflops.toFixed(0)} GFLOP/s`,
        );
      }
    }
  });
  console.log(`other processes used ${forwardLoad.foreignCores.toFixed(2)} cores during the forward runs`);
  for (const h of Object.values(hosts)) await h.release();

  const headline = `${DEFAULT_VARIANT}, guidance 3`;
  const target = latency[headline]?.medianMs ?? Number.NaN;
  const result = {
    config: {
      imageSize: size,
      channels: cfg.channels,
      blocksPerLevel: cfg.blocksPerLevel,
      params: spec.paramCount,
      gflopPerImage,
    },
    onnxBytes: onnx.length,
    sessionCreateMsAllVariants: createMs,
    headline,
    runs,
    steps,
    loadavgAtEnd: loadavg(),
    niceness: getPriority(),
    foreignCores: { sampling: samplingLoad.foreignCores, forward: forwardLoad.foreignCores },
    sampling: { images: 16, steps, latency, targetMs: 1500, meetsTarget: target < 1500 },
    served: {
      model: served.manifest.id,
      dir: servedDir,
      imageSize: served.host.shape.imageSize,
      params: servedSpec.paramCount,
      gflopPerImage: servedSpec.flopsPerImage.total / 1e9,
      host: DEFAULT_HOST_OPTIONS,
      sampler: POOL_SAMPLING,
      images: 16,
      latency: servedLatency,
    },
    forward: throughput,
  };
  const path = writeResult("sampling", result);
  console.log(`wrote ${path}`);

  const fmt = (v: number | undefined, d = 0) => (v === undefined ? "–" : v.toFixed(d));
  const row = (b: number, v: Variant) => throughput.find((r) => r.batch === b && r.variant === v);
  const body = [
    "## Sampling (ONNX Runtime, `pnpm bench sampling`)",
    "",
    `Default \`tiny\` config, ${size} px, ${spec.paramCount.toLocaleString("en-US")} parameters, ${gflopPerImage.toFixed(3)} GFLOP per image forward; opset-17 graph from \`exportOnnx\`, onnxruntime-node 1.30 on CPU; host ${hostLine()}. Medians of ${runs} runs (forwards: ${forwardRuns}) after warm-up, all variants interleaved in one process on the shared 2-core machine; other processes used ${samplingLoad.foreignCores.toFixed(2)} cores on average during the sampling runs and ${forwardLoad.foreignCores.toFixed(2)} during the forward runs${getPriority() !== 0 ? `; the benchmark ran at nice ${getPriority()} (as a serving process would be prioritised over the trainer)` : ""}. Written ${new Date().toISOString().slice(0, 16)}Z.`,
    "",
    `**16 images × ${steps} DDIM steps with classifier-free guidance (32 rows per step), serving default host (${DEFAULT_VARIANT}): ${fmt(target)} ms median** (target < 1500 ms: ${target < 1500 ? "met" : "NOT met"}).`,
    "",
    "| sampling, 16 images | median ms | min ms | of which ORT forward | x update (JS) | process CPU ms |",
    "|---|---|---|---|---|---|",
    ...scenarios.map((s) => {
      const l = latency[s.name];
      return `| ${s.name} | ${fmt(l?.medianMs)} | ${fmt(l?.minMs)} | ${fmt(l?.forwardMs)} | ${fmt(l?.updateMs, 1)} | ${fmt(l?.cpuMs)} |`;
    }),
    "",
    `**What users get** (measured in the same runs, interleaved): the served version \`${served.manifest.id}\` (${served.host.shape.imageSize} px, ${servedSpec.paramCount.toLocaleString("en-US")} parameters, ${(servedSpec.flopsPerImage.total / 1e9).toFixed(3)} GFLOP per image forward) with the pool sampler (${POOL_SAMPLING.steps} ancestral steps, η = ${POOL_SAMPLING.eta}, guidance ${POOL_SAMPLING.guidanceScale}; apps/trainer \`POOL_SAMPLING\`, what the gallery's images and \`likewise eval\` use), 16 held-out prompts, serving default host (${DEFAULT_VARIANT}): **${fmt(servedLatency.medianMs)} ms median** for 16 images (min ${fmt(servedLatency.minMs)}; ORT forward ${fmt(servedLatency.forwardMs)} ms, x update ${fmt(servedLatency.updateMs, 1)} ms, process CPU ${fmt(servedLatency.cpuMs)} ms).`,
    "",
    `| forward batch | ${forwardVariants.map((v) => `${v}: ms | img/s | GFLOP/s`).join(" | ")} |`,
    `|---|${forwardVariants.map(() => "---|---|---|").join("")}`,
    ...batches.map(
      (b) =>
        `| ${b} | ${forwardVariants
          .map((v) => {
            const r = row(b, v);
            return `${fmt(r?.medianMs, 2)} | ${fmt(r?.imgPerSec)} | ${fmt(r?.gflops)}`;
          })
          .join(" | ")} |`,
    ),
    "",
    "Notes:",
    '- The first table is the configuration the serving target was set on (the default 32 px config, 25 deterministic DDIM steps, untrained weights: speed does not depend on their values). Since session 16 the product samples with 50 ancestral steps on the 16 px base model; the "what users get" line measures that.',
    "- With guidance every step is one forward of 32 rows, so the latency is ≈ 25 × the B=32 forward; the JS x-update is ~15 ms in total.",
    "- The figures depend on the host, and machines of this kind differ by up to 1.7× per thread under the same name. Earlier runs of this benchmark (guided, 2 threads; the static history, not this run): 1233 ms on an AMD EPYC with AVX-512 (2026-11-26T23:50Z; four runs within 10 minutes there gave 1451, 1533, 1289 and 1233 ms, 1 thread 1974 ms, B=32 two-thread forward 218 GFLOP/s), 2056 ms on another AMD EPYC (2026-11-26T16:17Z; 3228 ms on 1 thread, 138 GFLOP/s); the host of the tables above (2026-11-30, AVX-512 as well) is a third. So the 32 px target is met on the fastest of these hosts and missed on the other two, while what users get (16 px, 50 ancestral steps) stays under 1.5 s on the host measured here. The platform probe (reference/platform-ml.md §4) saw 206 GFLOP/s per thread on one conv.",
    "- onnxruntime-node runs `session.run` synchronously on the JS thread: concurrent runs on two sessions serialize, and a forward blocks the event loop (~50 ms for a guided step here). Tried 2026-11-26T23:48Z: two worker threads with a one-thread session each, the 32 rows split 16 + 16 — guided sampling 1268 ms median vs 1289 ms for one two-thread session in the same run (9 runs each): no gain worth a thread protocol, so serving keeps one in-process session.",
    '- Other processes (tests, lint, training) shared the 2 cores during the run; the 2-thread figures suffer most (a stalled thread holds up every op), the 1-thread ones least. "process CPU ms" is our own CPU time, the work done whatever the load.',
    "",
    "JSON: `bench/results/sampling.json`.",
  ].join("\n");
  await writeSection(body);
  return result;
}
