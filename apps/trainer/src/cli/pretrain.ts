// `pnpm likewise pretrain`: trains the `tiny` family from scratch on the shapes world's deliberately flawed
// training distribution, with progress + ETA, resumable from its checkpoint (kill it at any time and run the
// same command again), and writes a parity-checked model version folder (the shipped base model).
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";

import {
  buildVocabulary,
  createModelConfig,
  createSchedule,
  DEFAULT_MODEL_CONFIG,
  describeModel,
  exportVerifiedOnnx,
  initWeights,
  Tokenizer,
  Trainer,
  type ImageSize,
  type ModelConfig,
} from "@likewise/kto";
import {
  BACKGROUND_STYLES,
  CAPTION_VOCABULARY,
  CLEAN_MIX,
  COLOURS,
  DEFAULT_TRAINING_MIX,
  sampleExample,
  sceneOptionsProblem,
  SHAPES,
  SIZES,
  toFloat32,
  type ExampleOptions,
  type SceneOptions,
} from "@likewise/synth";

import { readModelVersion, writeModelVersion } from "../artifact.ts";
import { env } from "../env.ts";
import { choiceOption, intOption, numberOption, parseOptions } from "./args.ts";
import { CliError } from "./errors.ts";
import { ProgressBar } from "./progress.ts";

/** The stages weigh the noisy steps fully (the true v-loss): with the weight truncated at 50, words did not move objects. */
const TRUE_V_LOSS = ["--loss-weighting", "v", "--weight-max", "1000000"] as const;

/**
 * Curricula over the world's variety. Each stage is a narrower world (clean renders, one object, full captions) trained
 * from the previous stage's weights; the command's own world comes last. Measured with `pnpm bench position`: placement
 * is learned within 400 steps where only colour varies, survives each widening step below, and survives the flawed
 * world; widening straight from colour-only to the whole clean world loses it (BENCHMARKS.md "Base model").
 */
const CURRICULA = {
  placement: [
    {
      name: "object colour",
      steps: 400,
      args: [
        "--world",
        "controlled",
        "--shapes",
        "square",
        "--sizes",
        "large",
        "--backgrounds",
        "blue",
        "--styles",
        "solid",
        ...TRUE_V_LOSS,
      ],
    },
    {
      name: "+ background colour",
      steps: 400,
      args: [
        "--world",
        "controlled",
        "--shapes",
        "square",
        "--sizes",
        "large",
        "--styles",
        "solid",
        ...TRUE_V_LOSS,
      ],
    },
    {
      name: "+ size, shape",
      steps: 400,
      args: ["--world", "controlled", "--styles", "solid", ...TRUE_V_LOSS],
    },
    { name: "+ gradients", steps: 400, args: ["--world", "controlled", ...TRUE_V_LOSS] },
  ],
  /**
   * Shape first: the object's outline is learned only where almost nothing else varies, and slowly (the small UNet
   * drew the asked shape 33% of the time after 800 steps of large red objects on plain blue, 83% after 3,000), while
   * position is learned alongside it. Then one attribute at a time, as above.
   */
  shape: [
    {
      name: "shape, position",
      steps: 2500,
      args: [
        "--world",
        "controlled",
        "--colours",
        "red",
        "--sizes",
        "large",
        "--backgrounds",
        "blue",
        "--styles",
        "solid",
        ...TRUE_V_LOSS,
      ],
    },
    {
      name: "+ object colour",
      steps: 500,
      args: [
        "--world",
        "controlled",
        "--sizes",
        "large",
        "--backgrounds",
        "blue",
        "--styles",
        "solid",
        ...TRUE_V_LOSS,
      ],
    },
    {
      name: "+ background colour",
      steps: 500,
      args: ["--world", "controlled", "--sizes", "large", "--styles", "solid", ...TRUE_V_LOSS],
    },
    { name: "+ size", steps: 500, args: ["--world", "controlled", "--styles", "solid", ...TRUE_V_LOSS] },
    { name: "+ gradients", steps: 500, args: ["--world", "controlled", ...TRUE_V_LOSS] },
  ],
  /**
   * Shape and size first: under `shape` most of the outline was lost in the 500 steps that widened sizes (small objects
   * have 1.6-px outlines), so here every size is there from the start, beside shape and position, for longer; then
   * object colour, background colour and gradients one at a time.
   */
  outline: [
    {
      name: "shape, size, position",
      steps: 3000,
      args: [
        "--world",
        "controlled",
        "--colours",
        "red",
        "--backgrounds",
        "blue",
        "--styles",
        "solid",
        ...TRUE_V_LOSS,
      ],
    },
    {
      name: "+ object colour",
      steps: 500,
      args: ["--world", "controlled", "--backgrounds", "blue", "--styles", "solid", ...TRUE_V_LOSS],
    },
    {
      name: "+ background colour",
      steps: 500,
      args: ["--world", "controlled", "--styles", "solid", ...TRUE_V_LOSS],
    },
    { name: "+ gradients", steps: 500, args: ["--world", "controlled", ...TRUE_V_LOSS] },
  ],
} as const satisfies Record<string, ReadonlyArray<{ name: string; steps: number; args: readonly string[] }>>;
type CurriculumName = keyof typeof CURRICULA;
/** Examples drawn for each narrow stage at most (they hold little variety); fewer when --examples is smaller. */
const STAGE_EXAMPLES = 20_000;
/** Options a curriculum sets per stage, so the command may not (the last stage takes them from the command). */
const STAGE_OWNED = ["world", "shapes", "colours", "sizes", "backgrounds", "styles", "init"] as const;
/** Options the stages set for themselves while the command's value still applies to its own (last) stage. */
const STAGE_SET = ["loss-weighting", "weight-max"] as const;
/** Options that belong to the command's own (last) stage only. */
const LAST_STAGE_ONLY = [
  "curriculum",
  "stage-steps",
  "steps",
  "out",
  "id",
  "ema",
  "examples",
  "seed",
  "checkpoint-every",
  "help",
] as const;

const HELP = `Usage: pnpm likewise pretrain [options]

  --size <16|24|32>     image size in px (default 16)
  --steps <n>           optimizer steps in total (default 9000)
  --batch <n>           images per step (default 32)
  --lr <x>              Adam learning rate (default 6e-4: linear warm-up over 300 steps, then a
                        half-cosine down to 10% at the last step)
  --lr-final <ratio>    learning rate at the last step as a share of --lr (default 0.1; 1 = constant)
  --schedule <kind>     noise schedule: linear (default; DDPM) or cosine (Nichol & Dhariwal 2021)
  --loss-weighting <w>  v (default): ε-MSE weighted by min(1/ᾱ_t, --weight-max), the v-prediction loss,
                        so the noisy steps where the prompt decides the image count; none: plain ε-MSE
  --weight-max <x>      truncation of the v weighting (default 50)
  --prediction <eps|v>  what the UNet predicts: eps (default) or v (v = √ᾱ·ε − √(1−ᾱ)·x₀, converted to ε in-graph,
                        so at high noise the network outputs the image instead of copying its noisy input)
  --ema <decay>         keep an exponential moving average of the weights (e.g. 0.999) and export it instead of
                        the last weights (default 0 = off)
  --text-pooling <on|off>  add the pooled prompt to the timestep embedding (default on)
  --position-embedding <on|off>  learned absolute position table after the first conv, so the model
                        knows where "at the top left" is (default on)
  --attention-positions <on|off>  a learned position table on each cross-attention's queries, legible at
                        high noise (default off)
  --scale-shift <on|off>  ResBlocks take the timestep + pooled-text embedding as a scale and shift of their
                        normalised features (AdaGN / FiLM) instead of a shift only (default off)
  --text-layout <on|off>  a layout pathway: the mean-pooled prompt → MLP → a coarse map added at the bottleneck,
                        so where an object goes does not depend on cross-attention alone (default off)
  --channels <a,b,c>    UNet channels per level (default 32,64,64)
  --attention-levels <l,…>  UNet levels (0 = full resolution) whose ResBlocks are followed by cross-attention to the
                        caption (default 1, the 8×8 level at 16 px; the bottleneck always has it)
  --world <kind>        default (the flawed training world) or controlled (clean renders, one object, every
                        attribute named: for architecture ablations)
  --shapes, --colours, --sizes, --backgrounds, --styles <a,b,…>
                        a narrower world: draw only these shapes / object colours / sizes / background colours /
                        background styles (default: all). For curriculum stages chained with --init: a model that
                        learns placement where little else varies keeps it when the world widens (BENCHMARKS.md)
  --position-init <normal|fourier>  how the position tables start: white noise (default) or a smooth
                        coordinate basis (CoordConv-style Fourier features), readable from the first step
  --curriculum <name>   placement: first ${CURRICULA.placement.map((st) => st.steps).reduce((a, b) => a + b, 0)} steps in narrow, clean worlds that widen stage by stage
                        (${CURRICULA.placement.map((st) => st.name).join(" → ")}), each started from the previous
                        stage's weights and trained on the true v-loss (--weight-max 1000000), then --steps in the
                        world this command names, with its own options; shape: ${CURRICULA.shape.map((st) => st.steps).reduce((a, b) => a + b, 0)} steps
                        (${CURRICULA.shape.map((st) => st.name).join(" → ")}; how models/base was trained: the shape is
                        learned first, and kept for medium and large objects as the world widens); outline: ${CURRICULA.outline.map((st) => st.steps).reduce((a, b) => a + b, 0)} steps
                        (${CURRICULA.outline.map((st) => st.name).join(" → ")}: every size from the start);
                        off (default): one stage.
                        Stages are written under $LIKEWISE_HOME/pretrain/<id>/stages and skipped once done, so
                        the same command resumes. Without it, object placement is not learned (BENCHMARKS.md)
  --stage-steps <n>     steps of each curriculum stage before the last (default: the curriculum's, 400)
  --examples <n>        distinct training examples drawn from the world (default 100000)
  --context <n>         text context length in tokens (default 16)
  --workers <n>         data-parallel worker threads (default 2)
  --seed <n>            seed for data, weights, noise (default 1)
  --init <dir>          start from this model version folder's weights (same config) instead of a fresh init,
                        e.g. a second stage with another --loss-weighting (recorded as training.initFrom)
  --out <dir>           model version folder to write (default models/base)
  --id <id>             model version id (default base)
  --checkpoint-every <n> steps between checkpoints (default 250)

Checkpoints go to $LIKEWISE_HOME/pretrain/<id>/checkpoint.bin; the same command resumes from there (--steps may be
raised); another command under the same --id is refused (pass another --id).`;

function parseAttentionLevels(raw: string, levels: number): number[] {
  const parts = raw.split(",").map((p) => p.trim());
  const nums = parts.map(Number);
  if (
    parts.some((p) => p === "") ||
    !nums.every((n) => Number.isInteger(n) && n >= 0 && n < levels) ||
    new Set(nums).size !== nums.length
  ) {
    throw new CliError(
      `--attention-levels "${raw}" must be distinct level indices in 0…${levels - 1}, comma-separated`,
      2,
    );
  }
  return [...nums].sort((a, b) => a - b);
}

function parseChannels(raw: string): number[] {
  const parts = raw.split(",").map((p) => Number(p.trim()));
  if (
    parts.length < 1 ||
    parts.length > 5 ||
    !parts.every((p) => Number.isInteger(p) && p >= 8 && p <= 256 && p % 8 === 0)
  ) {
    throw new CliError(
      `--channels "${raw}" must be 1–5 comma-separated multiples of 8 in 8…256, one per level`,
      2,
    );
  }
  return parts;
}

/** --id: the model version id, also a folder name under $LIKEWISE_HOME/pretrain. */
function checkId(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(id))
    throw new CliError(`--id "${id}" must be 1–100 of [A-Za-z0-9._-], starting with a letter or digit`, 2);
  return id;
}

/** --shapes/--colours/--sizes/--backgrounds/--styles: comma lists of known values (checked together by synth later). */
function parseRestriction(
  o: Partial<Record<"shapes" | "colours" | "sizes" | "backgrounds" | "styles", string>>,
): SceneOptions {
  const list = <T extends string>(name: keyof typeof o, known: readonly T[]): T[] | undefined => {
    const raw = o[name];
    if (raw === undefined) return undefined;
    const values = raw.split(",").map((v) => v.trim());
    const unknown = values.find((v) => !(known as readonly string[]).includes(v));
    if (unknown !== undefined)
      throw new CliError(`--${name}: "${unknown}" is not one of ${known.join(", ")}`, 2);
    if (new Set(values).size !== values.length)
      throw new CliError(`--${name} "${raw}" lists a value twice`, 2);
    return values as T[];
  };
  const r: SceneOptions = {
    shapes: list("shapes", SHAPES),
    colours: list("colours", COLOURS),
    sizes: list("sizes", SIZES),
    backgrounds: list("backgrounds", COLOURS),
    styles: list("styles", BACKGROUND_STYLES),
  };
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));
}

/** How a stage was started: by the user, or by a curriculum (whose command and name the last stage records). */
type StageMeta = { command?: string; curriculum?: { name: CurriculumName; stages: string[] } };

export async function run(argv: string[], meta: StageMeta = {}): Promise<void> {
  const o = parseOptions(argv, {
    size: { type: "string" },
    steps: { type: "string" },
    batch: { type: "string" },
    lr: { type: "string" },
    schedule: { type: "string" },
    "lr-final": { type: "string" },
    "loss-weighting": { type: "string" },
    "weight-max": { type: "string" },
    prediction: { type: "string" },
    ema: { type: "string" },
    "text-pooling": { type: "string" },
    "position-embedding": { type: "string" },
    "attention-positions": { type: "string" },
    "position-init": { type: "string" },
    "scale-shift": { type: "string" },
    "text-layout": { type: "string" },
    channels: { type: "string" },
    "attention-levels": { type: "string" },
    world: { type: "string" },
    shapes: { type: "string" },
    colours: { type: "string" },
    sizes: { type: "string" },
    backgrounds: { type: "string" },
    styles: { type: "string" },
    examples: { type: "string" },
    context: { type: "string" },
    workers: { type: "string" },
    seed: { type: "string" },
    out: { type: "string" },
    init: { type: "string" },
    id: { type: "string" },
    "checkpoint-every": { type: "string" },
    curriculum: { type: "string" },
    "stage-steps": { type: "string" },
    help: { type: "boolean" },
  });
  if (o.help) return void console.log(HELP);
  const curriculum = choiceOption(
    o.curriculum,
    "curriculum",
    ["off", ...(Object.keys(CURRICULA) as CurriculumName[])] as const,
    "off",
  );
  if (curriculum !== "off") return runCurriculum(curriculum, argv, o);
  if (o["stage-steps"] !== undefined)
    throw new CliError("--stage-steps applies to --curriculum stages only", 2);
  const size = Number(choiceOption(o.size, "size", ["16", "24", "32"] as const, "16")) as ImageSize;
  const steps = intOption(o.steps, "steps", 9000, 1, 10_000_000);
  const batchSize = intOption(o.batch, "batch", 32, 1, 4096);
  const learningRate = numberOption(o.lr, "lr", 6e-4, 1e-7, 1);
  const lrFinal = numberOption(o["lr-final"], "lr-final", 0.1, 0, 1);
  const scheduleKind = choiceOption(o.schedule, "schedule", ["cosine", "linear"] as const, "linear");
  const weightingKind = choiceOption(o["loss-weighting"], "loss-weighting", ["v", "none"] as const, "v");
  const weightMax = numberOption(o["weight-max"], "weight-max", 50, 1, 1e6);
  const lossWeighting = weightingKind === "v" ? ({ kind: "v", max: weightMax } as const) : undefined;
  const emaDecay = numberOption(o.ema, "ema", 0, 0, 0.99999);
  const prediction = choiceOption(o.prediction, "prediction", ["eps", "v"] as const, "eps");
  const textPooling = choiceOption(o["text-pooling"], "text-pooling", ["on", "off"] as const, "on") === "on";
  const positionEmbedding =
    choiceOption(o["position-embedding"], "position-embedding", ["on", "off"] as const, "on") === "on";
  const attentionPositions =
    choiceOption(o["attention-positions"], "attention-positions", ["on", "off"] as const, "off") === "on";
  const scaleShift = choiceOption(o["scale-shift"], "scale-shift", ["on", "off"] as const, "off") === "on";
  const textLayout = choiceOption(o["text-layout"], "text-layout", ["on", "off"] as const, "off") === "on";
  const channels = o.channels === undefined ? undefined : parseChannels(o.channels);
  const attentionLevels =
    o["attention-levels"] === undefined
      ? [1]
      : parseAttentionLevels(o["attention-levels"], (channels ?? DEFAULT_MODEL_CONFIG.channels).length);
  const world = choiceOption(o.world, "world", ["default", "controlled"] as const, "default");
  const restriction = parseRestriction(o);
  const positionInit = choiceOption(
    o["position-init"],
    "position-init",
    ["normal", "fourier"] as const,
    "normal",
  );
  const examples = intOption(o.examples, "examples", 100_000, 16, 2_000_000);
  const contextLength = intOption(o.context, "context", 16, 5, 64);
  const workers = intOption(o.workers, "workers", 2, 0, 16);
  const seed = intOption(o.seed, "seed", 1, 0, 2 ** 31 - 1);
  const id = checkId(o.id ?? "base");
  const out = resolve(o.out ?? "models/base");
  const checkpointEvery = intOption(o["checkpoint-every"], "checkpoint-every", 250, 1, 1_000_000);
  const ckptPath = join(env.home, "pretrain", id, "checkpoint.bin");
  const command = meta.command ?? `pnpm likewise pretrain ${argv.join(" ")}`.trim();

  // Linear + v weighting: with plain ε-MSE the base model learned to ignore the prompt at low SNR (x̂0 with the right
  // vs another image's prompt differed by 3–8%), and a cosine schedule did not change that (BENCHMARKS.md); weighting
  // the noisy steps up is what made the caption matter on kto's toy squares.
  const scheduleSpec = { kind: scheduleKind, steps: 1000 } as const;
  const schedule = createSchedule(scheduleSpec);
  const vocab = buildVocabulary(CAPTION_VOCABULARY);
  const config = createModelConfig({
    imageSize: size,
    attentionLevels,
    ...(textPooling ? { textPooling } : {}),
    ...(positionEmbedding ? { positionEmbedding } : {}),
    ...(attentionPositions ? { attentionPositions } : {}),
    ...(positionInit === "fourier" ? { positionInit } : {}),
    ...(scaleShift ? { scaleShift } : {}),
    ...(textLayout ? { textLayout } : {}),
    ...(channels ? { channels } : {}),
    ...(prediction === "v" ? { prediction: { kind: "v", schedule: scheduleSpec } } : {}),
    text: { vocabSize: vocab.length, contextLength },
  });
  const tokenizer = new Tokenizer(vocab, contextLength);

  // The training set: `examples` draws from the flawed world, captions capped to the context length.
  // "controlled": the world without its flaws, one object per image, every attribute named (ablations of the
  // architecture: does the model learn to follow a caption at all, BENCHMARKS.md "Base model").
  const worldOptions: ExampleOptions =
    world === "default"
      ? { mix: DEFAULT_TRAINING_MIX, scene: restriction }
      : {
          mix: CLEAN_MIX,
          scene: { ...restriction, twoObjectRate: 0 },
          caption: { attributeDropRate: 0, shapeDropRate: 0 },
        };
  const restrictionProblem = sceneOptionsProblem(worldOptions.scene ?? {});
  if (restrictionProblem !== null)
    throw new CliError(
      `the narrower world cannot be drawn: ${restrictionProblem.replace(/scene\.(\w+)/g, "--$1")}`,
      2,
    );
  const pixels = size * size * 3;
  const images = new Float32Array(examples * pixels);
  const tokens = new Int32Array(examples * contextLength);
  const gen = new ProgressBar({ label: "world", total: examples, unit: "img" });
  for (let i = 0; i < examples; i++) {
    const ex = sampleExample(seed, i, {
      size,
      ...worldOptions,
      caption: { ...worldOptions.caption, maxWords: contextLength },
    });
    images.set(toFloat32(ex.image), i * pixels);
    tokens.set(tokenizer.encode(ex.caption), i * contextLength);
    if (i % 2000 === 0) gen.update(i);
  }
  gen.finish();

  const init = o.init
    ? await readModelVersion(resolve(o.init)).catch((e: unknown) => {
        throw new CliError(`--init ${o.init}: ${e instanceof Error ? e.message : String(e)}`, 2);
      })
    : undefined;
  // Between stages the parameterisation may change (same parameters; e.g. an ε model continued as a v model), and
  // attention position tables may be added (initialised fresh from --seed; every other parameter comes from --init).
  // Every parameter of the init must carry over (none may be dropped).
  const architecture = (c: ModelConfig) =>
    JSON.stringify({ ...c, prediction: undefined, attentionPositions: undefined, positionInit: undefined });
  const fresh = init ? initWeights(describeModel(config).decls, seed) : undefined;
  if (
    init &&
    fresh &&
    (architecture(init.config) !== architecture(config) ||
      [...init.weights.keys()].some((k) => !fresh.has(k)))
  ) {
    throw new CliError(
      `--init ${o.init}: its model config differs from this run's (size, channels, attention levels, context, text pooling, position embedding, scale-shift, text layout must match)`,
      2,
    );
  }
  const newParameters = fresh && init ? [...fresh.keys()].filter((k) => !init.weights.has(k)) : [];
  const initialWeights =
    fresh && init ? new Map([...fresh].map(([k, w]) => [k, init.weights.get(k) ?? w])) : undefined;
  const resumeFrom = existsSync(ckptPath) ? new Uint8Array(await readFile(ckptPath)) : undefined;
  // Sidecar of the checkpoint: smoothed loss and training wall time so far, so a resumed run reports totals.
  const progressPath = `${ckptPath}.json`;
  // What the checkpoint's training depends on (every option but --steps, which may be raised to train on). A
  // checkpoint under the same --id from another command must not be resumed silently: a finished one would be
  // exported as this command's result without a single step of this command's training.
  const trainingOptions: Record<string, unknown> = {
    config,
    initWeights: init?.manifest.weights.sha256 ?? null,
    seed,
    batchSize,
    learningRate,
    lrFinal,
    schedule: scheduleKind,
    lossWeighting: lossWeighting ?? weightingKind,
    emaDecay,
    world,
    restriction,
    examples,
  };
  const prior =
    resumeFrom && existsSync(progressPath)
      ? (JSON.parse(await readFile(progressPath, "utf8")) as {
          emaLoss: number;
          wallTimeSec: number;
          options?: Record<string, unknown>;
        })
      : { emaLoss: Number.NaN, wallTimeSec: 0 };
  if (resumeFrom && prior.options) {
    const differing = Object.keys(trainingOptions).filter(
      (k) => JSON.stringify(prior.options?.[k] ?? null) !== JSON.stringify(trainingOptions[k] ?? null),
    );
    if (differing.length > 0)
      throw new CliError(
        `checkpoint ${relative(process.cwd(), ckptPath)} (--id ${id}) was written by another command (it differs in ${differing.join(", ")}): run that command to resume it, pass another --id, or delete ${relative(process.cwd(), dirname(ckptPath))} to start over`,
        2,
      );
  }
  const trainer = await Trainer.create({
    config,
    data: { size: examples, tokens, images },
    seed,
    batchSize,
    learningRate,
    warmupSteps: 300,
    ...(lrFinal < 1 ? { learningRateDecay: { totalSteps: steps, finalRatio: lrFinal } } : {}),
    schedule: scheduleSpec,
    ...(lossWeighting ? { lossWeighting } : {}),
    maxGradNorm: 1,
    ...(emaDecay > 0 ? { emaDecay } : {}),
    promptDropout: 0.1,
    objective: "mse",
    ...(initialWeights ? { initialWeights } : {}),
    workers,
    clock: () => performance.now(),
    resumeFrom,
  }).catch((e: unknown) => {
    throw new CliError(
      `${e instanceof Error ? e.message : String(e)}${resumeFrom ? ` (checkpoint ${relative(process.cwd(), ckptPath)} was written with other options: use them, or delete it to start over)` : ""}`,
    );
  });
  console.error(
    `backend ${trainer.backend.name}${trainer.backend.notes.length ? ` (${trainer.backend.notes.join("; ")})` : ""}; ${resumeFrom ? `resuming at step ${trainer.step}` : "from scratch"}`,
  );

  const controller = new AbortController();
  const onSignal = () => {
    console.error("\nstopping after the current step (the checkpoint keeps the progress)…");
    controller.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const bar = new ProgressBar({ label: "pretrain", total: steps, unit: "step", initial: trainer.step });
  let emaLoss = prior.emaLoss;
  const trainStart = performance.now();
  const wallTimeSec = () => Math.round(prior.wallTimeSec + (performance.now() - trainStart) / 1000);
  const saveCheckpoint = async (bytes: Uint8Array) => {
    await mkdir(dirname(ckptPath), { recursive: true });
    await writeFile(`${ckptPath}.tmp`, bytes);
    await rename(`${ckptPath}.tmp`, ckptPath);
    await writeFile(
      progressPath,
      JSON.stringify({ emaLoss, wallTimeSec: wallTimeSec(), options: trainingOptions }),
    );
  };
  let result;
  try {
    result = await trainer.run({
      untilStep: steps,
      signal: controller.signal,
      checkpointEvery,
      onCheckpoint: saveCheckpoint,
      onProgress: (p) => {
        emaLoss = Number.isNaN(emaLoss) ? p.loss : 0.98 * emaLoss + 0.02 * p.loss;
        bar.update(
          p.step,
          `loss ${emaLoss.toFixed(4)} ${p.imagesPerSecond ? `${p.imagesPerSecond.toFixed(1)} img/s` : ""}`,
        );
      },
    });
    await saveCheckpoint(trainer.checkpoint());
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (result.status === "cancelled") {
    await trainer.close();
    throw new CliError(`stopped at step ${result.step}/${steps}; run the same command to continue`);
  }
  bar.finish(`loss ${emaLoss.toFixed(4)}`);
  const weights = trainer.emaWeights() ?? trainer.weights();
  const backend = trainer.backend.name;
  await trainer.close();

  console.error("exporting ONNX and checking parity against tfjs…");
  const { bytes, parity } = await exportVerifiedOnnx(config, weights, {
    producerVersion: "likewise-pretrain",
  });
  const manifest = await writeModelVersion(out, {
    id,
    parent: null, // a pretraining stage, not an alignment: the stage it started from is in training.initFrom
    config,
    vocab,
    schedule,
    weights,
    onnx: bytes,
    parity: { maxAbs: parity.maxAbs, relL2: parity.relL2 },
    training: {
      command,
      seed,
      steps,
      batchSize,
      learningRate,
      lossWeighting: lossWeighting ?? "none",
      prediction,
      emaDecay: emaDecay > 0 ? emaDecay : null,
      ...(init
        ? {
            initFrom: {
              id: init.manifest.id,
              training: init.manifest.training,
              ...(newParameters.length ? { newParameters } : {}),
            },
          }
        : {}),
      wallTimeSec: wallTimeSec(),
      finalLoss: Number(emaLoss.toFixed(5)),
      backend,
      workers,
      examples,
      trainingMix: worldOptions.mix,
      ...(world === "default" ? {} : { world }),
      ...(Object.keys(restriction).length ? { scene: restriction } : {}),
      ...(meta.curriculum ? { curriculum: meta.curriculum } : {}),
      resumed: Boolean(resumeFrom),
    },
  });
  console.log(
    `wrote ${relative(process.cwd(), out)} (${manifest.id}, ${manifest.weights.parameters.toLocaleString("en")} parameters, parity max |Δ| ${parity.maxAbs.toExponential(2)})`,
  );
}

/**
 * `--curriculum <name>`: the curriculum's stages, each a `pretrain` run of its own (progress bar, checkpoints) started
 * from the previous stage's folder, then the command's own stage from the last of them. Finished stages are kept under
 * $LIKEWISE_HOME/pretrain/<id>/stages and skipped, so running the same command again resumes where it stopped.
 */
async function runCurriculum(
  name: CurriculumName,
  argv: string[],
  o: Record<string, string | boolean | undefined>,
): Promise<void> {
  const str = (v: string | boolean | undefined) => (typeof v === "string" ? v : undefined);
  const owned = STAGE_OWNED.filter((k) => o[k] !== undefined);
  if (owned.includes("init"))
    throw new CliError("--curriculum trains from scratch: it cannot start from --init", 2);
  const narrowing = owned.filter((k) => k !== "world");
  if (narrowing.length)
    throw new CliError(
      `--curriculum sets the world of its stages; --${narrowing.join(", --")} would narrow only the last one: leave ${narrowing.length === 1 ? "it" : "them"} out`,
      2,
    );
  const id = checkId(str(o.id) ?? "base");
  const seed = intOption(str(o.seed), "seed", 1, 0, 2 ** 31 - 1);
  const stageSteps =
    o["stage-steps"] === undefined
      ? undefined
      : intOption(str(o["stage-steps"]), "stage-steps", 400, 1, 1_000_000);
  const examples = Math.min(STAGE_EXAMPLES, intOption(str(o.examples), "examples", 100_000, 16, 2_000_000));
  // What every stage shares with the command: the architecture and the objective (not its length, world or output).
  const shared = Object.entries(o).flatMap(([k, v]) =>
    v === undefined || ([...LAST_STAGE_ONLY, ...STAGE_OWNED, ...STAGE_SET] as readonly string[]).includes(k)
      ? []
      : [`--${k}`, String(v)],
  );
  const stages = CURRICULA[name];
  const total = stages.length + 1;
  let previous: string | undefined;
  for (const [k, stage] of stages.entries()) {
    const out = join(env.home, "pretrain", id, "stages", `${k + 1}`);
    const steps = stageSteps ?? stage.steps;
    const label = `stage ${k + 1}/${total} (${stage.name}, ${steps} steps)`;
    const stageArgv = [
      ...shared,
      ...stage.args,
      "--steps",
      String(steps),
      "--examples",
      String(examples),
      "--seed",
      String(seed * 100 + k + 1),
      ...(previous ? ["--init", previous] : []),
      "--out",
      out,
      "--id",
      `${id}.stage${k + 1}`,
    ];
    const manifestPath = join(out, "manifest.json");
    if (existsSync(manifestPath)) {
      // Reuse a finished stage only if it was trained exactly as this command would train it.
      const recorded = (
        JSON.parse(await readFile(manifestPath, "utf8")) as { training?: { command?: string } }
      ).training?.command;
      if (recorded !== `pnpm likewise pretrain ${stageArgv.join(" ")}`) {
        throw new CliError(
          `stage ${k + 1} in ${relative(process.cwd(), out)} was trained with other options (${recorded ?? "unknown"}); use them, or delete ${relative(process.cwd(), join(env.home, "pretrain", id))} to start over`,
          2,
        );
      }
      console.error(`${label}: done earlier (${relative(process.cwd(), out)})`);
    } else {
      console.error(`${label}:`);
      await run(stageArgv);
    }
    previous = out;
  }
  console.error(`stage ${total}/${total} (the command's world):`);
  // The command without the curriculum's own options (given as "--name value" or "--name=value").
  const own = ["--curriculum", "--stage-steps"];
  const last = argv.filter((a, i) => !own.some((f) => a === f || a.startsWith(`${f}=`) || argv[i - 1] === f));
  await run([...last, "--init", previous as string], {
    command: `pnpm likewise pretrain ${argv.join(" ")}`,
    curriculum: {
      name,
      stages: stages.map((st) => `${st.name}: ${stageSteps ?? st.steps} steps, ${st.args.join(" ")}`),
    },
  });
}
