// One alignment round, end to end, as a state machine persisted in its row (ROUND_TRANSITIONS in @likewise/db):
// queued → draining → training → exporting → evaluating → published | rejected | failed | canceled.
// Every phase can be re-entered by another worker after a crash: draining re-claims (idempotent for what it holds),
// training resumes from the round's checkpoint under the LIKEWISE home, exporting re-exports from the final
// checkpoint, evaluating re-runs the gate. Ending as failed/canceled/rejected releases the labels in the same
// transaction (updateRoundStatus), exactly once.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

import {
  acquireRoundLease,
  claimLabelsForRound,
  createExperiment,
  type Db,
  type HostWaitOptions,
  listExperiments,
  listFreePopulationSlices,
  getModelVersion,
  getRound,
  heartbeatRound,
  DbError,
  listRoundLabels,
  type Round,
  setModelVersionStatus,
  startExperimentWhenServed,
  updateRoundStatus,
} from "@likewise/db";
import {
  buildDpoPairs,
  createSchedule,
  exportVerifiedOnnx,
  guidedReferencePredictor,
  ktoOptionsToCodes,
  type ObjectiveOptions,
  type ReferencePredictor,
  type StepMetrics,
  Tokenizer,
  Trainer,
  TRAINABLE_SUBSETS,
  type WeightMap,
} from "@likewise/kto";
import type { RoundStatus } from "@likewise/db/enums";
import {
  type ArtifactStore,
  type BlobStore,
  decodePng,
  encodePng,
  loadModel,
  type LoadedModel,
} from "@likewise/serving";
import { contactSheet, getRaterPreset, RATER_PRESET_NAMES, toFloat32 } from "@likewise/synth";

import { readModelVersion, writeModelVersion } from "../artifact.ts";
import { evaluateModel, type EvalReport } from "../evaluate.ts";
import type { Logger } from "../log.ts";
import { promoteModelVersion, registerModelVersion } from "../registry.ts";
import { parseRoundConfig, type RoundConfig } from "./config.ts";

export type RoundDeps = {
  db: Db;
  blobs: BlobStore;
  store: ArtifactStore;
  /** LIKEWISE home: checkpoints and candidate folders live under `<home>/rounds/<round id>/`. */
  home: string;
  log: Logger;
  workerId: string;
  /** A worker whose heartbeat is older than this has died (default 60 s). */
  staleMs?: number;
  /** Minimum interval between heartbeat/progress writes (default 2 s). */
  heartbeatMs?: number;
  /** ONNX Runtime threads for the reference model and the gate's sampling (default 1). */
  servingThreads?: number;
  /** How the "experiment at N%" policy waits for serving hosts to load the candidate (default ROUND_EXPERIMENT_HOSTS). */
  experimentHosts?: HostWaitOptions;
};

/** The experiment policy's wait for serving hosts: the same as the admin start button's. */
export const ROUND_EXPERIMENT_HOSTS: HostWaitOptions = {
  timeoutMs: 120_000,
  pollMs: 500,
  seenWithinMs: 30_000,
};

export type RoundProgress = {
  phase: RoundStatus;
  step?: number;
  totalSteps?: number;
  etaMs?: number;
  loss?: number;
  message?: string;
};

export type RunRoundOptions = {
  /** Worker shutdown: stop after the step in flight, leave the round where it is (a restart resumes it). */
  signal?: AbortSignal;
  onProgress?: (p: RoundProgress) => void;
};

/** One point of the curves the admin page draws (downsampled to at most MAX_SERIES points). */
export type SeriesPoint = {
  step: number;
  loss: number;
  z?: number;
  rewardAccuracy?: number;
  rewardDesirable?: number;
  rewardUndesirable?: number;
  kl?: number;
  desirableShare?: number;
};
const MAX_SERIES = 400;

export type GateResult = {
  passed: boolean;
  reasons: string[];
  raters: string;
  parent: GateModelMetrics;
  candidate: GateModelMetrics;
  thresholds: RoundConfig["gate"];
  contactSheetBlobKey: string;
};
type GateModelMetrics = { id: string; likeRate: number; fidelity: number; score: number };

export const roundDir = (home: string, roundId: string) => join(home, "rounds", roundId);
export const candidateIdOf = (roundId: string) => `round-${roundId}`;

class RoundStopped extends Error {}

/**
 * Runs (or resumes) a round to its end, or until `signal` aborts (the round stays resumable). Returns the round as it
 * ends up. Refuses to start when another worker holds a live round (returns it unchanged, status queued).
 */
export async function runRound(
  deps: RoundDeps,
  roundId: string,
  options: RunRoundOptions = {},
): Promise<Round> {
  const log = {
    info: (msg: string, f: Record<string, unknown> = {}) => deps.log.info(msg, { roundId, ...f }),
    warn: (msg: string, f: Record<string, unknown> = {}) => deps.log.warn(msg, { roundId, ...f }),
    error: (msg: string, f: Record<string, unknown> = {}) => deps.log.error(msg, { roundId, ...f }),
  };
  const staleMs = deps.staleMs ?? 60_000;
  const lease = await acquireRoundLease(deps.db, { roundId, workerId: deps.workerId, staleMs });
  if (!lease.acquired) {
    log.warn("round not started", { reason: lease.reason });
    return lease.round;
  }
  let round = lease.round;
  log.info("round picked up", { status: round.status });
  const ctx = new RoundContext(deps, round, options, log);
  try {
    const config = parseRoundConfig(round.objectiveConfig);
    if (round.status === "queued") round = await ctx.move("draining");
    if (round.status === "draining") round = await drain(ctx, config);
    if (round.status === "training") round = await train(ctx, config);
    if (round.status === "exporting") round = await exportCandidate(ctx, config);
    if (round.status === "evaluating") round = await gate(ctx, config);
    return round;
  } catch (e) {
    if (e instanceof RoundStopped) {
      const now = await getRound(deps.db, roundId);
      log.info("round stopped", { status: now.status });
      return now;
    }
    const now = await getRound(deps.db, roundId);
    if (["published", "rejected", "failed", "canceled"].includes(now.status)) return now;
    const message = e instanceof Error ? e.message : String(e);
    log.error("round failed", { phase: now.status, error: message });
    const ended = await updateRoundStatus(deps.db, {
      roundId,
      to: "failed",
      error: `${now.status}: ${message}`,
    });
    log.info("labels released", { released: ended.releasedLabels });
    return ended.round;
  } finally {
    await ctx.close();
  }
}

class RoundContext {
  private lastBeat = 0;
  readonly dir: string;
  private models: LoadedModel[] = [];
  constructor(
    readonly deps: RoundDeps,
    public round: Round,
    readonly options: RunRoundOptions,
    readonly log: Pick<Logger, "info" | "warn" | "error">,
  ) {
    this.dir = roundDir(deps.home, round.id);
  }

  get stopping() {
    return this.options.signal?.aborted ?? false;
  }

  async move(
    to: RoundStatus,
    extra: { metrics?: Record<string, unknown>; candidateModelVersionId?: string; error?: string } = {},
  ): Promise<Round> {
    if (this.stopping) throw new RoundStopped();
    const { round, releasedLabels } = await updateRoundStatus(this.deps.db, {
      roundId: this.round.id,
      to,
      progress: { ...this.round.progress, phase: to, message: undefined },
      ...(extra.metrics ? { metrics: { ...this.round.metrics, ...extra.metrics } } : {}),
      ...(extra.candidateModelVersionId ? { candidateModelVersionId: extra.candidateModelVersionId } : {}),
      ...(extra.error ? { error: extra.error } : {}),
    });
    this.round = round;
    this.log.info(`round ${to}`, releasedLabels > 0 ? { releasedLabels } : {});
    this.options.onProgress?.({ phase: to });
    return round;
  }

  /** Throttled heartbeat + progress; a round canceled meanwhile (INVALID_STATE) stops the work. */
  async beat(progress: Record<string, unknown>, force = false): Promise<void> {
    const now = performance.now();
    if (!force && now - this.lastBeat < (this.deps.heartbeatMs ?? 2000)) return;
    this.lastBeat = now;
    try {
      this.round = await heartbeatRound(this.deps.db, {
        roundId: this.round.id,
        workerId: this.deps.workerId,
        progress: { ...this.round.progress, ...progress },
      });
    } catch (e) {
      if (e instanceof DbError && e.code === "INVALID_STATE") {
        this.log.info("round ended elsewhere (canceled?); stopping");
        throw new RoundStopped();
      }
      throw e;
    }
  }

  async load(dir: string): Promise<LoadedModel> {
    const m = await loadModel(dir, { intraOpNumThreads: this.deps.servingThreads ?? 1 });
    this.models.push(m);
    return m;
  }

  async close() {
    for (const m of this.models) await m.host.release().catch(() => {});
    this.models = [];
  }
}

async function drain(ctx: RoundContext, config: RoundConfig): Promise<Round> {
  const { manifest } = await claimLabelsForRound(ctx.deps.db, {
    roundId: ctx.round.id,
    ...(config.maxLabels ? { limit: config.maxLabels } : {}),
  });
  const { counts } = manifest;
  ctx.log.info("labels claimed", { ...counts, sha256: manifest.sha256 });
  const share = counts.total > 0 ? counts.desirable / counts.total : 0;
  const problem =
    counts.total < config.minLabels
      ? `not enough labels: ${counts.total} claimed, the config asks for at least ${config.minLabels}`
      : share < config.classBalance[0] || share > config.classBalance[1]
        ? `class balance out of band: ${(100 * share).toFixed(1)}% liked, allowed ${100 * config.classBalance[0]}–${100 * config.classBalance[1]}%`
        : null;
  if (problem) {
    const ended = await updateRoundStatus(ctx.deps.db, {
      roundId: ctx.round.id,
      to: "failed",
      error: `draining: ${problem}`,
    });
    ctx.log.warn("round skipped", { reason: problem, releasedLabels: ended.releasedLabels });
    return ended.round;
  }
  return ctx.move("training", {
    metrics: { labels: { ...counts, sha256: manifest.sha256, likedShare: share } },
  });
}

type Prepared = {
  parentDir: string;
  parent: Awaited<ReturnType<typeof readModelVersion>>;
  tokens: Int32Array;
  images: Float32Array;
  labels: Float32Array;
  prompts: string[];
};

/** The training set: the round's frozen manifest → PNGs from the blob store as [−1, 1] floats, prompts tokenized
 * with the parent's vocabulary, ±1 labels. */
async function prepare(ctx: RoundContext): Promise<Prepared> {
  const version = await getModelVersion(ctx.deps.db, ctx.round.parentModelVersionId);
  const parentDir = await ctx.deps.store.open(version.artifactUri);
  const parent = await readModelVersion(parentDir);
  const labels = await listRoundLabels(ctx.deps.db, { roundId: ctx.round.id });
  const size = parent.config.imageSize;
  const L = parent.config.text.contextLength;
  const tokenizer = new Tokenizer(parent.manifest.vocab, L);
  const pixels = size * size * 3;
  const out = {
    tokens: new Int32Array(labels.length * L),
    images: new Float32Array(labels.length * pixels),
    labels: new Float32Array(labels.length),
    prompts: [] as string[],
  };
  for (const [i, l] of labels.entries()) {
    const png = await ctx.deps.blobs.get(l.blobKey);
    if (!png) throw new Error(`image ${l.imageId}: blob ${l.blobKey} is missing from the blob store`);
    const img = decodePng(png);
    if (img.width !== size || img.height !== size) {
      throw new Error(
        `image ${l.imageId} is ${img.width}×${img.height}; the parent trains on ${size}×${size}`,
      );
    }
    out.images.set(toFloat32(img), i * pixels);
    out.tokens.set(tokenizer.encode(l.promptText), i * L);
    out.labels[i] = l.value === "like" ? 1 : -1;
    out.prompts.push(l.promptText);
  }
  return { parentDir, parent, ...out };
}

/** (liked, disliked) pairs of one prompt from the round's labels; an error naming `who` when there are none. */
function samePromptPairs(data: Pick<Prepared, "prompts" | "labels">, who: string) {
  const { pairs } = buildDpoPairs(data.prompts, data.labels);
  if (pairs.length === 0)
    throw new Error(`${who}: no prompt has both a liked and a disliked image in this round`);
  return pairs;
}

/** The Trainer option that limits a round to its config's parameter subset (nothing for "all"). */
export function trainableOption(config: Pick<RoundConfig, "trainable">): {
  trainableParameters?: readonly string[];
} {
  return config.trainable === "all" ? {} : { trainableParameters: TRAINABLE_SUBSETS[config.trainable] };
}

/** The trainer's objective options (and the γ sampler or DPO pairs) for a round config and its labels (±1) and prompts. */
export function objectiveSetup(
  config: RoundConfig,
  data: Pick<Prepared, "prompts" | "labels">,
): { objectiveOptions: ObjectiveOptions; extra: Record<string, unknown> } {
  if (config.objective === "kto") {
    const objectiveOptions = ktoOptionsToCodes({
      beta: config.beta,
      lambdaD: config.lambdaD,
      lambdaU: config.lambdaU,
      utility: config.utility,
      referencePoint: config.referencePoint,
    });
    if (config.pairedSampling)
      return { objectiveOptions, extra: { pairs: samePromptPairs(data, "kto (paired)") } };
    return {
      objectiveOptions,
      extra: config.positiveRatio !== null ? { positiveRatio: config.positiveRatio } : {},
    };
  }
  if (config.objective === "dpo")
    return { objectiveOptions: { beta: config.beta }, extra: { pairs: samePromptPairs(data, "dpo") } };
  return { objectiveOptions: { normalize: 0 }, extra: {} };
}

async function train(ctx: RoundContext, config: RoundConfig): Promise<Round> {
  const data = await prepare(ctx);
  const { config: modelConfig, manifest, weights: parentWeights } = data.parent;
  const refModel = await ctx.load(data.parentDir);
  const plainReference: ReferencePredictor = (b) =>
    refModel.host.forward({
      batch: b.size,
      tokens: BigInt64Array.from(b.tokens, (v) => BigInt(v)),
      x: b.xt,
      t: b.t,
    });
  const referencePredictor = guidedReferencePredictor(plainReference, config.trainingGuidance);
  const ckptPath = join(ctx.dir, "checkpoint.bin");
  const seriesPath = join(ctx.dir, "series.json");
  const resumeFrom = existsSync(ckptPath) ? new Uint8Array(await readFile(ckptPath)) : undefined;
  let series: SeriesPoint[] = resumeFrom ? await readSeries(seriesPath) : [];
  const { objectiveOptions, extra } = objectiveSetup(config, data);
  const trainer = await Trainer.create({
    config: modelConfig,
    data: { size: data.labels.length, tokens: data.tokens, images: data.images, labels: data.labels },
    seed: config.seed,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    warmupSteps: config.warmupSteps,
    maxGradNorm: 1,
    promptDropout: config.promptDropout,
    schedule: {
      kind: manifest.schedule.kind === "linear" ? "linear" : "cosine",
      steps: manifest.schedule.timesteps,
    },
    objective: config.objective,
    objectiveOptions,
    initialWeights: parentWeights,
    referencePredictor,
    guidanceScale: config.trainingGuidance,
    freezeTextEncoder: true,
    ...trainableOption(config),
    workers: config.workers,
    clock: () => performance.now(),
    ...extra,
    ...(resumeFrom ? { resumeFrom } : {}),
  });
  ctx.log.info(resumeFrom ? "training resumed from checkpoint" : "training started", {
    step: trainer.step,
    steps: config.steps,
    labels: data.labels.length,
    backend: trainer.backend.name,
  });
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  ctx.options.signal?.addEventListener("abort", onAbort);
  const startStep = trainer.step;
  const started = performance.now();
  let last: StepMetrics | undefined;
  let pending: Promise<void> = Promise.resolve();
  let stopped = false;
  const saveCheckpoint = async (bytes: Uint8Array) => {
    await mkdir(ctx.dir, { recursive: true });
    await writeFile(`${ckptPath}.tmp`, bytes);
    await rename(`${ckptPath}.tmp`, ckptPath);
    // Atomic too: a SIGKILL mid-write must not leave a truncated file that breaks the resume.
    await writeFile(`${seriesPath}.tmp`, JSON.stringify(series));
    await rename(`${seriesPath}.tmp`, seriesPath);
  };
  const progressOf = (m: StepMetrics) => {
    const done = m.step - startStep;
    const elapsed = performance.now() - started;
    const etaMs = done > 0 ? Math.round((elapsed / done) * (config.steps - m.step)) : undefined;
    return {
      phase: "training",
      step: m.step,
      totalSteps: config.steps,
      etaMs,
      loss: m.loss,
      objective: m.objective,
      series,
    };
  };
  let result;
  try {
    result = await trainer.run({
      untilStep: config.steps,
      signal: controller.signal,
      checkpointEvery: config.checkpointEvery,
      onCheckpoint: saveCheckpoint,
      onProgress: (m) => {
        last = m;
        const o = m.objective;
        series.push({
          step: m.step,
          loss: m.loss,
          ...(o
            ? {
                z: o.referencePoint,
                rewardAccuracy: o.rewardAccuracy,
                rewardDesirable: o.rewardDesirable,
                rewardUndesirable: o.rewardUndesirable,
                kl: o.kl,
                desirableShare: o.desirableShare,
              }
            : {}),
        });
        if (series.length > MAX_SERIES)
          series = series.filter((_p, i) => i % 2 === 0 || i === series.length - 1);
        const p = progressOf(m);
        ctx.options.onProgress?.({
          phase: "training",
          step: m.step,
          totalSteps: config.steps,
          etaMs: p.etaMs,
          loss: m.loss,
        });
        pending = pending.then(() =>
          ctx.beat(p).catch((e: unknown) => {
            stopped = true;
            controller.abort();
            if (!(e instanceof RoundStopped)) ctx.log.warn("heartbeat failed", { error: String(e) });
          }),
        );
      },
    });
    await pending;
    if (result.status === "cancelled" || stopped) {
      if (!stopped) await saveCheckpoint(trainer.checkpoint());
      throw new RoundStopped();
    }
    await saveCheckpoint(trainer.checkpoint());
  } finally {
    ctx.options.signal?.removeEventListener("abort", onAbort);
    await trainer.close();
  }
  if (last) await ctx.beat(progressOf(last), true);
  const tail = series.slice(-Math.max(1, Math.floor(series.length / 10)));
  const mean = (k: keyof SeriesPoint) => tail.reduce((a, p) => a + (p[k] ?? 0), 0) / tail.length;
  return ctx.move("exporting", {
    metrics: {
      training: {
        steps: config.steps,
        wallTimeSec: Math.round((performance.now() - started) / 1000),
        resumedFromStep: resumeFrom ? startStep : null,
        finalLoss: mean("loss"),
        finalRewardAccuracy: mean("rewardAccuracy"),
        finalZ: mean("z"),
        backend: trainer.backend.name,
      },
    },
  });
}

/** The loss/reward curve saved beside the checkpoint; [] when absent or unreadable (it is only for the charts). */
async function readSeries(path: string): Promise<SeriesPoint[]> {
  if (!existsSync(path)) return [];
  try {
    const v: unknown = JSON.parse(await readFile(path, "utf8"));
    return Array.isArray(v) ? (v as SeriesPoint[]) : [];
  } catch {
    return [];
  }
}

/** Final weights from the round's last checkpoint (what training wrote just before it moved on). */
async function finalWeights(ctx: RoundContext, config: RoundConfig, parentDir: string): Promise<WeightMap> {
  const parent = await readModelVersion(parentDir);
  const bytes = new Uint8Array(await readFile(join(ctx.dir, "checkpoint.bin")));
  const L = parent.config.text.contextLength;
  const P = parent.config.imageSize ** 2 * 3;
  // A one-example placeholder set: nothing is trained, the trainer only decodes the checkpoint into weights.
  const trainer = await Trainer.create({
    config: parent.config,
    data: {
      size: 2,
      tokens: new Int32Array(2 * L),
      images: new Float32Array(2 * P),
      labels: Float32Array.from([1, -1]),
    },
    seed: config.seed,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    warmupSteps: config.warmupSteps,
    maxGradNorm: 1,
    promptDropout: config.promptDropout,
    schedule: {
      kind: parent.manifest.schedule.kind === "linear" ? "linear" : "cosine",
      steps: parent.manifest.schedule.timesteps,
    },
    objective: "mse",
    freezeTextEncoder: true,
    workers: 0,
    resumeFrom: bytes,
  });
  try {
    return trainer.weights();
  } finally {
    await trainer.close();
  }
}

async function exportCandidate(ctx: RoundContext, config: RoundConfig): Promise<Round> {
  await ctx.beat({ phase: "exporting", message: "exporting ONNX and checking parity" }, true);
  const candidateId = candidateIdOf(ctx.round.id);
  const existing = await getModelVersion(ctx.deps.db, candidateId).catch(() => null);
  if (!existing) {
    const parentVersion = await getModelVersion(ctx.deps.db, ctx.round.parentModelVersionId);
    const parentDir = await ctx.deps.store.open(parentVersion.artifactUri);
    const parent = await readModelVersion(parentDir);
    const weights = await finalWeights(ctx, config, parentDir);
    const started = performance.now();
    const { bytes, parity } = await exportVerifiedOnnx(parent.config, weights, {
      producerVersion: "likewise-round",
    });
    const out = join(ctx.dir, "candidate");
    await writeModelVersion(out, {
      id: candidateId,
      parent: parentVersion.id,
      config: parent.config,
      vocab: parent.manifest.vocab,
      schedule: createSchedule({
        kind: parent.manifest.schedule.kind === "linear" ? "linear" : "cosine",
        steps: parent.manifest.schedule.timesteps,
      }),
      weights,
      onnx: bytes,
      parity: { maxAbs: parity.maxAbs, relL2: parity.relL2 },
      training: {
        command: `alignment round ${ctx.round.id}`,
        seed: config.seed,
        steps: config.steps,
        batchSize: config.batchSize,
        learningRate: config.learningRate,
        wallTimeSec: Number(
          (ctx.round.metrics.training as { wallTimeSec?: number } | undefined)?.wallTimeSec ?? 0,
        ),
        finalLoss: Number(
          (ctx.round.metrics.training as { finalLoss?: number } | undefined)?.finalLoss ?? Number.NaN,
        ),
        backend: "tfjs",
        workers: config.workers,
        roundId: ctx.round.id,
        objective: config.objective,
        labels: ctx.round.labelCountDesirable + ctx.round.labelCountUndesirable,
        manifestSha256: ctx.round.manifestSha256,
      },
    });
    await registerModelVersion(ctx.deps.db, ctx.deps.store, {
      sourceDir: out,
      parentId: parentVersion.id,
      roundId: ctx.round.id,
    });
    await rm(out, { recursive: true, force: true });
    ctx.log.info("candidate registered", {
      candidateId,
      parity: parity.maxAbs,
      exportMs: Math.round(performance.now() - started),
    });
  }
  return ctx.move("evaluating");
}

async function gate(ctx: RoundContext, config: RoundConfig): Promise<Round> {
  const g = config.gate;
  if (!(RATER_PRESET_NAMES as readonly string[]).includes(g.raters))
    throw new Error(`gate.raters: unknown preset "${g.raters}" (${RATER_PRESET_NAMES.join(", ")})`);
  const rater = getRaterPreset(g.raters);
  const candidateId = candidateIdOf(ctx.round.id);
  const [parentVersion, candidateVersion] = await Promise.all([
    getModelVersion(ctx.deps.db, ctx.round.parentModelVersionId),
    getModelVersion(ctx.deps.db, candidateId),
  ]);
  const parent = await ctx.load(await ctx.deps.store.open(parentVersion.artifactUri));
  const candidate = await ctx.load(await ctx.deps.store.open(candidateVersion.artifactUri));
  const total = 2 * g.prompts * g.imagesPerPrompt;
  const evalOne = async (model: LoadedModel, offset: number) =>
    evaluateModel(model, {
      prompts: g.prompts,
      imagesPerPrompt: g.imagesPerPrompt,
      seed: g.seed,
      steps: g.samplingSteps,
      eta: g.eta,
      guidanceScale: g.guidanceScale,
      rater,
      onProgress: (done) => {
        ctx.options.onProgress?.({ phase: "evaluating", step: offset + done, totalSteps: total });
        // Training's step/totalSteps stay on the row (the curves); the gate's progress has its own keys.
        void ctx.beat({ phase: "evaluating", evaluated: offset + done, toEvaluate: total }).catch(() => {});
      },
    });
  const before = await evalOne(parent, 0);
  const after = await evalOne(candidate, g.prompts * g.imagesPerPrompt);
  // Forced, with the final count: the throttled beats above may have skipped the last images, and the round page
  // shows this count after the round ends.
  await ctx.beat({ phase: "evaluating", message: "gate", evaluated: total, toEvaluate: total }, true);
  const sheet = contactSheet(
    before.prompts.map((p, i) => {
      const likes = [...p.likeProbabilities, ...(after.prompts[i]?.likeProbabilities ?? [])];
      return {
        label: p.caption,
        images: [...p.images, ...(after.prompts[i]?.images ?? [])],
        imageMeters: likes,
        imageNotes: likes.map((l) => `${Math.round(100 * l)}%`),
      };
    }),
    { imageScale: Math.max(1, Math.round(64 / parent.manifest.imageSize)) },
  );
  const png = encodePng(sheet);
  const contactSheetBlobKey = await ctx.deps.blobs.put(png);
  await mkdir(ctx.dir, { recursive: true });
  await writeFile(join(ctx.dir, "contact-sheet.png"), png);
  const metricsOf = (r: EvalReport, id: string): GateModelMetrics => ({
    id,
    likeRate: r.likeRate,
    fidelity: r.summary.fidelity,
    score: r.summary.score,
  });
  const p = metricsOf(before.report, parentVersion.id);
  const c = metricsOf(after.report, candidateId);
  const reasons: string[] = [];
  if (c.likeRate - p.likeRate < g.minLikeRateDelta)
    reasons.push(
      `like rate ${pct(c.likeRate)} vs parent ${pct(p.likeRate)}: Δ ${pct(c.likeRate - p.likeRate)} < ${pct(g.minLikeRateDelta)}`,
    );
  if (c.fidelity < p.fidelity - g.maxFidelityDrop)
    reasons.push(
      `fidelity ${c.fidelity.toFixed(3)} < parent ${p.fidelity.toFixed(3)} − ${g.maxFidelityDrop}`,
    );
  const result: GateResult = {
    passed: reasons.length === 0,
    reasons,
    raters: g.raters,
    parent: p,
    candidate: c,
    thresholds: g,
    contactSheetBlobKey,
  };
  ctx.log.info("gate", {
    passed: result.passed,
    parentLikeRate: p.likeRate,
    candidateLikeRate: c.likeRate,
    reasons,
  });
  await ctx.close();
  if (!result.passed) {
    const ended = await ctx.move("rejected", {
      metrics: { gate: result },
      error: `gate: ${reasons.join("; ")}`,
    });
    // Registration made it servable; a gate failure retires it so no host serves it (the row stays as history).
    await setModelVersionStatus(ctx.deps.db, { id: candidateId, status: "retired" });
    return ended;
  }
  // The policy acts before the round is marked published so its outcome is recorded with it; a worker that dies in
  // between re-applies it (promotion is idempotent; the experiment is found by its name).
  const promotion = await applyPromotion(ctx, config, candidateId);
  return ctx.move("published", {
    metrics: { gate: result, promotion },
    candidateModelVersionId: candidateId,
  });
}

export type PromotionOutcome =
  | { policy: "none" }
  | { policy: "promote"; productionModelVersionId: string }
  | {
      policy: "experiment";
      experimentId: string;
      trafficPercent: number;
      status: "running" | "draft";
      /** Why it stayed a draft (another experiment on the population, hosts not ready, a host refused). */
      error?: string;
    };

async function applyPromotion(
  ctx: RoundContext,
  config: RoundConfig,
  candidateId: string,
): Promise<PromotionOutcome> {
  const policy = config.promotion;
  const db = ctx.deps.db;
  if (policy.policy === "promote") {
    await promoteModelVersion(db, {
      modelVersionId: candidateId,
      reason: `round ${ctx.round.id} passed its gate`,
    });
    ctx.log.info("candidate promoted to production", { candidateId });
    return { policy: "promote", productionModelVersionId: candidateId };
  }
  if (policy.policy === "experiment") {
    // Parent as control, candidate at N% of the traffic, started through the experiments code path: the serving
    // hosts load the candidate before anyone is assigned. It takes the largest part of the population no running
    // experiment holds (mutually exclusive with them). If it cannot start (no free population, a host refuses or is
    // slow) it stays a draft with the reason, for an admin to start later.
    const name = `round ${ctx.round.id.slice(0, 8)} candidate`;
    const free = (await listFreePopulationSlices(db)).sort((a, b) => b.to - b.from - (a.to - a.from))[0];
    const experiment =
      (await listExperiments(db)).find((e) => e.name === name) ??
      (await createExperiment(db, {
        name,
        populationOffset: free?.from ?? 0,
        populationPercent: free ? free.to - free.from : 100,
        hypothesis: `the round's candidate (${candidateId}) is liked more than its parent`,
        variants: [
          {
            name: "parent",
            modelVersionId: ctx.round.parentModelVersionId,
            weight: 100 - policy.trafficPercent,
            isControl: true,
          },
          { name: "candidate", modelVersionId: candidateId, weight: policy.trafficPercent },
        ],
      }));
    const base = {
      policy: "experiment" as const,
      experimentId: experiment.id,
      trafficPercent: policy.trafficPercent,
    };
    if (experiment.status !== "draft") return { ...base, status: "running" };
    try {
      await startExperimentWhenServed(db, {
        experimentId: experiment.id,
        actorId: null,
        reason: `round ${ctx.round.id} policy: candidate at ${policy.trafficPercent}% of traffic`,
        ...(ctx.deps.experimentHosts ?? ROUND_EXPERIMENT_HOSTS),
      });
      ctx.log.info("experiment started for the candidate", {
        candidateId,
        experimentId: experiment.id,
        trafficPercent: policy.trafficPercent,
      });
      return { ...base, status: "running" };
    } catch (e) {
      if (!(e instanceof DbError) || e.code === "INTERNAL") throw e;
      ctx.log.warn("experiment for the candidate stays a draft", {
        candidateId,
        experimentId: experiment.id,
        error: e.message,
      });
      return { ...base, status: "draft", error: e.message };
    }
  }
  return { policy: "none" };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
