// The alignment benchmark end to end, without a database: labels from the base model → every method fine-tuned on
// the same labels with the same budget (K training seeds) → every model evaluated on the held-out prompts (evaluation
// seed k for training seed k) → the multi-round series (KTO rounds on fresh labels from the previous round's model).
import { mkdir, rm } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";

import { loadModel, rewardGuidedModel } from "@likewise/serving";
import type { RaterSpec, RgbImage } from "@likewise/synth";

import { featureHeadroom, voteEvidence, type HeadroomRow, type VoteEvidence } from "./evidence.ts";
import { evaluateOnSeed, mergeEvals, SEED_STRIDE, type EvalSettings, type ModelEval } from "./evaluate.ts";
import {
  fineTune,
  openParent,
  writeSoup,
  type FineTuned,
  type Budget,
  type Method,
  type Parent,
  type TrainingSummary,
} from "./finetune.ts";
import {
  collectLabels,
  likedCount,
  likedDistributionLikeProbability,
  oracleLabels,
  selectionCeiling,
  takeLabels,
  type LabelSet,
  type SelectionRow,
} from "./labels.ts";

export type AlignmentOptions = {
  modelDir: string;
  rater: RaterSpec;
  /** Preset name or file path the rater spec came from. */
  ratersSource: string;
  labels: number;
  seeds: number;
  trainPrompts: number;
  evalPrompts: number;
  evalImagesPerPrompt: number;
  samplingSteps: number;
  /** DDIM η of labels and evaluations (1 = ancestral, the served sampler). */
  eta: number;
  guidanceScale: number;
  budget: Budget;
  methods: readonly Method[];
  /** Methods whose K seeds' weights are averaged (a model soup) and evaluated on every seed's cells (default none). */
  soups?: readonly Method[];
  /** Reward-guidance weights each soup is also sampled at, against the base (default none). */
  soupGuidance?: readonly number[];
  /** Diagnostic: every label set's likes reassigned per caption to its images of highest true P(like) (oracleLabels). */
  oracleLabels?: boolean;
  /** Multi-round mode: this many consecutive KTO rounds of labels/rounds fresh labels each (0 = off). */
  rounds: number;
  roundBudget: Budget;
  servingThreads: number;
  /** Scratch folder for the fine-tuned model versions (removed at the end). */
  workDir: string;
  log?: (message: string) => void;
};

/** Fixed seeds: held-out prompts are the gate's (DEFAULT_EVAL_SEED); training prompts another balanced set. */
export const SEEDS = {
  trainPrompts: 7_001,
  labelImages: 1_000_000,
  labelVotes: 11,
  evalImages: 90_000,
  evalVotes: 5_000,
  roundImages: 3_000_000,
  roundVotes: 50,
} as const;

export type RoundRecord = {
  round: number;
  parent: string;
  labels: number;
  liked: number;
  /** Collected on the parent (round 1: the first labels/rounds of the one-round label set, drawn from the base). */
  labelSource: string;
  training: TrainingSummary;
  eval: ModelEval;
};

export type AlignmentRun = {
  options: Omit<AlignmentOptions, "rater" | "log" | "workDir"> & { rater: string };
  base: { id: string; eval: ModelEval };
  labelSet: {
    count: number;
    liked: number;
    prompts: number;
    heldOutExcluded: number;
    meanLikeProbability: number;
    meanFidelity: number;
    source: string;
    /** Best-of-n by the raters' true P(like) among the base's own images per training prompt (selectionCeiling). */
    selection: SelectionRow[];
    /** P(like) of the liked images' own distribution per caption (likedDistributionLikeProbability). */
    likedDistribution: number;
    /** Within-caption liked − disliked differences of the judge features, votes vs oracle labels (voteEvidence). */
    evidence: VoteEvidence;
    /** The labelled images' P(like) with features moved (featureHeadroom). */
    headroom: HeadroomRow[];
  };
  runs: Array<{
    method: Method;
    seed: number;
    training: TrainingSummary | null;
    error: string | null;
    eval: ModelEval | null;
  }>;
  /**
   * Model soups: per soup method, the mean of its seeds' weights evaluated on every seed's cells (the cells its seeds
   * were evaluated on, one each), then the same soup sampled with reward guidance at each weight (`guidance` 1 = as
   * averaged). Key `${method}-soup` or `${method}-soup@w${w}`.
   */
  soups: Array<{
    key: string;
    method: Method;
    /** Training seeds whose weights were averaged. */
    members: number[];
    guidance: number;
    eval: ModelEval | null;
    error: string | null;
  }>;
  rounds: RoundRecord[];
  /** Per model id: the k = 0 images of the first held-out prompts (for the contact sheet). */
  sheet: Array<{ caption: string; byModel: Record<string, RgbImage[]> }>;
  times: Record<string, number>;
  /** This process's CPU time (all threads) and the machine's 1-min load average sampled every 15 s during the run. */
  resources: { cpuMs: number; loadAverage: { mean: number; max: number; samples: number } };
};

const SHEET_PROMPTS = 6;

export async function runAlignment(o: AlignmentOptions): Promise<AlignmentRun> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const loads: number[] = [loadavg()[0] ?? 0];
  const sampler = setInterval(() => loads.push(loadavg()[0] ?? 0), 15_000);
  sampler.unref();
  const times: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const s = performance.now();
    try {
      return await f();
    } finally {
      times[name] = (times[name] ?? 0) + Math.round(performance.now() - s);
    }
  };
  await mkdir(o.workDir, { recursive: true });
  const settings: EvalSettings = {
    prompts: o.evalPrompts,
    imagesPerPrompt: o.evalImagesPerPrompt,
    samplingSteps: o.samplingSteps,
    eta: o.eta,
    guidanceScale: o.guidanceScale,
    rater: o.rater,
    seedBase: SEEDS.evalImages,
    voteSeed: SEEDS.evalVotes,
  };
  const sheet: AlignmentRun["sheet"] = [];
  const addToSheet = (e: ModelEval) => {
    for (const c of e.cells.filter((x) => x.k === 0 && x.prompt < SHEET_PROMPTS)) {
      const row = (sheet[c.prompt] ??= { caption: c.caption, byModel: {} });
      row.byModel[e.id] = c.images;
    }
  };
  const evalAllSeeds = async (model: Parameters<typeof evaluateOnSeed>[0]) => {
    const parts: ModelEval[] = [];
    for (let k = 0; k < o.seeds; k++) parts.push(await evaluateOnSeed(model, settings, k));
    return mergeEvals(parts);
  };

  const base = await openParent(o.modelDir, o.servingThreads);
  const opened: Parent[] = [base];
  try {
    log(
      `base ${base.id}: evaluating on ${o.evalPrompts} held-out prompts × ${o.evalImagesPerPrompt} images × ${o.seeds} seed(s)`,
    );
    const baseEval = await timed("evaluate", () => evalAllSeeds(base.onnx));
    addToSheet(baseEval);
    const heldOut = new Set(baseEval.cells.map((c) => c.caption));

    log(`collecting ${o.labels} labels on ${o.trainPrompts} training prompts`);
    const relabel = (set: LabelSet): LabelSet => (o.oracleLabels ? oracleLabels(set) : set);
    const labels = await timed("labels", async () =>
      relabel(
        await collectLabels(base.onnx, {
          prompts: o.trainPrompts,
          promptSeed: SEEDS.trainPrompts,
          count: o.labels,
          seed: SEEDS.labelImages,
          samplingSteps: o.samplingSteps,
          eta: o.eta,
          guidanceScale: o.guidanceScale,
          rater: o.rater,
          voteSeed: SEEDS.labelVotes,
          exclude: heldOut,
          onProgress: progressLogger(log, "labels"),
        }),
      ),
    );
    const trainCaptions = new Set(labels.prompts);
    const excluded = labels.heldOutDropped ?? 0;
    const liked = likedCount(labels);
    log(
      `labels: ${labels.labels.length}, liked ${liked} (${((100 * liked) / Math.max(1, labels.labels.length)).toFixed(1)}%), ${excluded} training prompt(s) dropped as held-out`,
    );

    const runs: AlignmentRun["runs"] = [];
    const soupMethods = new Set(o.soups ?? []);
    const members = new Map<Method, FineTuned[]>();
    for (let k = 0; k < o.seeds; k++) {
      for (const method of o.methods) {
        const id = `${method}-seed${k + 1}`;
        log(`fine-tuning ${id}: ${o.budget.steps} steps × ${o.budget.batchSize}`);
        let training: TrainingSummary | null = null;
        let error: string | null = null;
        let ev: ModelEval | null = null;
        try {
          const ft = await timed("train", () =>
            fineTune(base, labels, method, o.budget, {
              seed: k + 1,
              outDir: join(o.workDir, id),
              id,
              onStep: stepLogger(log, id),
            }),
          );
          training = ft.summary;
          if (soupMethods.has(method)) members.set(method, [...(members.get(method) ?? []), ft]);
          const model = await loadModel(ft.dir, { intraOpNumThreads: o.servingThreads });
          try {
            ev = await timed("evaluate", () => evaluateOnSeed(model, settings, k));
          } finally {
            await model.host.release();
          }
          if (k === 0) addToSheet(ev);
          await rm(ft.dir, { recursive: true, force: true });
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
          log(`${id} failed: ${error}`);
        }
        runs.push({ method, seed: k + 1, training, error, eval: ev });
      }
    }

    const soups: AlignmentRun["soups"] = [];
    for (const method of o.soups ?? []) {
      const parts = members.get(method) ?? [];
      const seeds = parts.map((p) => p.summary.seed);
      const key = `${method}-soup`;
      const keys = [key, ...(o.soupGuidance ?? []).map((w) => `${key}@w${w}`)];
      const weightsOf = [1, ...(o.soupGuidance ?? [])];
      if (parts.length < 2) {
        const error = `${parts.length} of ${o.seeds} seeds trained; a soup needs 2`;
        log(`${key}: skipped, ${error}`);
        keys.forEach((k, i) =>
          soups.push({ key: k, method, members: seeds, guidance: weightsOf[i] ?? 1, eval: null, error }),
        );
        continue;
      }
      const dir = join(o.workDir, key);
      try {
        log(`${key}: the mean of seeds ${seeds.join(", ")}'s weights, evaluated on every seed's cells`);
        await writeSoup(base, parts, {
          outDir: dir,
          id: key,
          command: `pnpm bench alignment (${method}: mean of seeds ${seeds.join(", ")}'s weights)`,
          method,
          budget: o.budget,
        });
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        log(`${key} failed: ${error}`);
        keys.forEach((k, i) =>
          soups.push({ key: k, method, members: seeds, guidance: weightsOf[i] ?? 1, eval: null, error }),
        );
        continue;
      }
      const model = await loadModel(dir, { intraOpNumThreads: o.servingThreads });
      try {
        for (const [i, w] of weightsOf.entries()) {
          const k = keys[i] ?? key;
          if (w !== 1) log(`${k}: the soup sampled with reward guidance w = ${w} against ${base.id}`);
          let ev: ModelEval | null = null;
          let error: string | null = null;
          try {
            ev = await timed("evaluate", () =>
              evalAllSeeds(w === 1 ? model : rewardGuidedModel(base.onnx, model, w)),
            );
          } catch (e) {
            error = e instanceof Error ? e.message : String(e);
            log(`${k} failed: ${error}`);
          }
          soups.push({ key: k, method, members: seeds, guidance: w, eval: ev, error });
        }
      } finally {
        await model.host.release();
        await rm(dir, { recursive: true, force: true });
      }
    }
    members.clear();

    const rounds: RoundRecord[] = [];
    if (o.rounds > 0) {
      const perRound = Math.floor(o.labels / o.rounds);
      let parent = base;
      for (let r = 1; r <= o.rounds; r++) {
        const set: LabelSet =
          r === 1
            ? takeLabels(labels, perRound)
            : await timed("labels", async () =>
                relabel(
                  await collectLabels(parent.onnx, {
                    prompts: o.trainPrompts,
                    promptSeed: SEEDS.trainPrompts,
                    count: perRound,
                    seed: SEEDS.roundImages + r * SEED_STRIDE,
                    samplingSteps: o.samplingSteps,
                    eta: o.eta,
                    guidanceScale: o.guidanceScale,
                    rater: o.rater,
                    voteSeed: SEEDS.roundVotes + r,
                    exclude: heldOut,
                    onProgress: progressLogger(log, "labels"),
                  }),
                ),
              );
        const id = `round-${r}`;
        log(
          `round ${r}: ${set.labels.length} labels from ${parent.id} (${likedCount(set)} liked); KTO ${o.roundBudget.steps} steps × ${o.roundBudget.batchSize}`,
        );
        const ft = await timed("train", () =>
          fineTune(parent, set, "kto", o.roundBudget, {
            seed: r,
            outDir: join(o.workDir, id),
            id,
            onStep: stepLogger(log, id),
          }),
        );
        const next = await openParent(ft.dir, o.servingThreads);
        opened.push(next);
        const ev = await timed("evaluate", () => evalAllSeeds(next.onnx));
        rounds.push({
          round: r,
          parent: parent.id,
          labels: set.labels.length,
          liked: likedCount(set),
          labelSource: set.source,
          training: ft.summary,
          eval: ev,
        });
        if (parent !== base) await parent.onnx.host.release();
        parent = next;
      }
    }

    times.total = Math.round(performance.now() - t0);
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpu0);
    const { rater, log: _l, workDir: _w, ...rest } = o;
    return {
      options: { ...rest, rater: rater.name },
      base: { id: base.id, eval: baseEval },
      labelSet: {
        count: labels.labels.length,
        liked,
        prompts: trainCaptions.size,
        heldOutExcluded: excluded,
        meanLikeProbability:
          labels.likeProbabilities.reduce((a, b) => a + b, 0) / Math.max(1, labels.likeProbabilities.length),
        meanFidelity: labels.fidelity.reduce((a, b) => a + b, 0) / Math.max(1, labels.fidelity.length),
        source: labels.source,
        selection: selectionCeiling(labels),
        likedDistribution: likedDistributionLikeProbability(labels),
        evidence: voteEvidence(labels),
        headroom: featureHeadroom(labels, rater),
      },
      runs,
      soups,
      rounds,
      sheet,
      times,
      resources: {
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
        loadAverage: {
          mean: loads.reduce((a, b) => a + b, 0) / loads.length,
          max: Math.max(...loads),
          samples: loads.length,
        },
      },
    };
  } finally {
    clearInterval(sampler);
    for (const p of opened) await p.onnx.host.release().catch(() => {});
    await rm(o.workDir, { recursive: true, force: true });
  }
}

function progressLogger(log: (m: string) => void, what: string) {
  let last = performance.now();
  return (done: number, total: number) => {
    const now = performance.now();
    if (done === total || now - last > 30_000) {
      last = now;
      log(`  ${what}: ${done}/${total} images`);
    }
  };
}

function stepLogger(log: (m: string) => void, id: string) {
  let last = performance.now();
  return (step: number, total: number, loss: number) => {
    const now = performance.now();
    if (step === total || now - last > 30_000) {
      last = now;
      log(`  ${id}: step ${step}/${total}, loss ${loss.toFixed(4)}`);
    }
  };
}
