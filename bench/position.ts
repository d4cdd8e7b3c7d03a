// `pnpm bench position [--vary a,b,…] [--positions 4|9] [--steps N] [--layout on|off] [--matrix]`: can the `tiny`
// recipe learn "where" from a caption, and what stops it? A controlled probe of the base model's failure to place
// objects (BENCHMARKS.md "Base model"): 2,000 clean one-object renders at 16 px whose captions name every attribute,
// where only the attributes in --vary change between images (colour, background, size, shape; the rest stay a large red
// square on plain blue) and the object sits at one of --positions places. The small UNet [16, 32, 32] of the
// controlled runs is trained as `pretrain` trains (v-prediction, true v-loss, LR warm-up then decay to 10%, prompt
// dropout 0.1, 2 workers), exported to ONNX (parity-checked), and asked for x̂₀ from pure noise at t = 500 / 700 / 850
// (8 noise draws) for "a large red square <position> on a plain blue background". The centroid of red-over-blue in x̂₀
// is compared with the place the renderer puts a "<position>" object: the error is the mean distance in image sides
// (0 = every position placed right; ≈ 0.2 = a centred blob for every caption; "no object" = no red predicted at all).
// --model <dir> probes a trained model version folder instead (e.g. each stage of a staged `pretrain`).
// --matrix runs the conditions of BENCHMARKS.md one after another and rewrites its section.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  buildVocabulary,
  createModelConfig,
  createSchedule,
  exportVerifiedOnnx,
  Tokenizer,
  Trainer,
  type WeightMap,
} from "@likewise/kto";
import { GaussianRng, loadModel, ModelHost } from "@likewise/serving";
import {
  CAPTION_VOCABULARY,
  createRng,
  formatCaption,
  fullDescription,
  positionAnchor,
  renderScene,
  SHAPES,
  SIZE_RADIUS,
  toFloat32,
  type Colour,
  type Position,
  type Scene,
  type Shape,
  type Size,
} from "@likewise/synth";

import { hostLine, median, writeResult } from "./lib/results";

const BENCHMARKS_MD = join(dirname(fileURLToPath(import.meta.url)), "..", "BENCHMARKS.md");
const SECTION_START = "<!-- bench:position:start -->";
const SECTION_END = "<!-- bench:position:end -->";

const VARIABLE = ["colour", "background", "size", "shape"] as const;
type Variable = (typeof VARIABLE)[number];
/** The corners first: `--positions 4` takes the first four. */
const POSITIONS_9: readonly Position[] = [
  "top left",
  "top right",
  "bottom left",
  "bottom right",
  "top",
  "bottom",
  "left",
  "right",
  "centre",
];
const COLOURS: readonly Colour[] = ["red", "yellow", "green", "white"];
const BACKGROUNDS: readonly Colour[] = ["blue", "black", "purple", "orange"];
const SIZES: readonly Size[] = ["small", "medium", "large"];
const SIZE = 16;
const CONTEXT = 16;
const EXAMPLES = 2000;
const PROBE_T = [500, 700, 850] as const;

export type Condition = {
  vary: Variable[];
  positions: 4 | 9;
  steps: number;
  layout: boolean;
  /** A curriculum: first train `steps` on a narrower world (only `vary` varies), then `Condition.steps` on this one. */
  first?: { vary: Variable[]; steps: number };
};
export type ConditionResult = Condition & {
  /** Per probe t: mean centroid error over the positions (image sides), or null when no position got a red object. */
  error: Record<number, number | null>;
  /** Per probe t: how many positions got no red object at all. */
  missing: Record<number, number>;
  trainSeconds: number;
};

function parseArgs(argv: string[]): { condition: Condition; matrix: boolean; model?: string } {
  const get = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const known = new Set([
    "--vary",
    "--positions",
    "--steps",
    "--layout",
    "--first",
    "--first-steps",
    "--matrix",
    "--model",
  ]);
  for (const a of argv)
    if (a.startsWith("--") && !known.has(a))
      throw new Error(`unknown option ${a} (known: ${[...known].join(", ")})`);
  const variables = (name: string): Variable[] => {
    const raw = get(name) ?? "";
    const list = raw === "" ? [] : raw.split(",");
    for (const v of list)
      if (!VARIABLE.includes(v as Variable))
        throw new Error(`${name}: "${v}" is not one of ${VARIABLE.join(", ")}`);
    return list as Variable[];
  };
  const vary = variables("--vary");
  const firstSteps = Number(get("--first-steps") ?? 0);
  if (!Number.isInteger(firstSteps) || firstSteps < 0 || firstSteps > 100_000)
    throw new Error("--first-steps must be an integer in 0…100000");
  const positions = Number(get("--positions") ?? 9);
  if (positions !== 4 && positions !== 9) throw new Error("--positions must be 4 (the corners) or 9");
  const steps = Number(get("--steps") ?? 400);
  if (!Number.isInteger(steps) || steps < 10 || steps > 100_000)
    throw new Error("--steps must be an integer in 10…100000");
  const layout = (get("--layout") ?? "off") === "on";
  const first = firstSteps > 0 ? { vary: variables("--first"), steps: firstSteps } : undefined;
  const model = get("--model");
  return {
    condition: { vary, positions, steps, layout, ...(first ? { first } : {}) },
    matrix: argv.includes("--matrix"),
    ...(model !== undefined ? { model } : {}),
  };
}

/** One object at the renderer's anchor for `place` (+ `jitter`), on a plain background; captioned in full by synth. */
function oneObjectScene(
  place: Position,
  colour: Colour,
  background: Colour,
  size: Size,
  shape: Shape,
  jitter: readonly [number, number],
): Scene {
  const radius = SIZE_RADIUS[size];
  const [ax, ay] = positionAnchor(place, shape, radius, 0);
  return {
    objects: [
      { shape, colour, size, position: place, x: ax + jitter[0], y: ay + jitter[1], radius, rotation: 0 },
    ],
    background: { colour: background, style: "solid", direction: "vertical", isReversed: false },
  };
}

/** The training set of a condition: clean renders, full captions, seeded. */
function dataset(
  c: Pick<Condition, "vary" | "positions">,
  tokenizer: Tokenizer,
): { images: Float32Array; tokens: Int32Array } {
  const rng = createRng(20261127, 1);
  const places = POSITIONS_9.slice(0, c.positions);
  const has = (v: Variable) => c.vary.includes(v);
  const images = new Float32Array(EXAMPLES * SIZE * SIZE * 3);
  const tokens = new Int32Array(EXAMPLES * CONTEXT);
  for (let i = 0; i < EXAMPLES; i++) {
    const scene = oneObjectScene(
      places[i % places.length] as Position,
      has("colour") ? rng.pick(COLOURS) : "red",
      has("background") ? rng.pick(BACKGROUNDS) : "blue",
      has("size") ? rng.pick(SIZES) : "large",
      has("shape") ? rng.pick(SHAPES) : "square",
      [rng.range(-0.02, 0.02), rng.range(-0.02, 0.02)],
    );
    images.set(toFloat32(renderScene(scene, SIZE)), i * SIZE * SIZE * 3);
    tokens.set(tokenizer.encode(formatCaption(fullDescription(scene))), i * CONTEXT);
  }
  return { images, tokens };
}

export async function runCondition(c: Condition): Promise<ConditionResult> {
  const vocab = buildVocabulary(CAPTION_VOCABULARY);
  const tokenizer = new Tokenizer(vocab, CONTEXT);
  const scheduleSpec = { kind: "linear", steps: 1000 } as const;
  const config = createModelConfig({
    imageSize: SIZE,
    channels: [16, 32, 32],
    attentionLevels: [1],
    textPooling: true,
    positionEmbedding: true,
    ...(c.layout ? { textLayout: true } : {}),
    prediction: { kind: "v", schedule: scheduleSpec },
    text: { vocabSize: vocab.length, contextLength: CONTEXT },
  });
  const t0 = performance.now();
  const stage = async (vary: Variable[], steps: number, initialWeights?: WeightMap): Promise<WeightMap> => {
    const data = dataset({ vary, positions: c.positions }, tokenizer);
    const trainer = await Trainer.create({
      config,
      data: { size: EXAMPLES, ...data },
      seed: 1,
      batchSize: 32,
      learningRate: 6e-4,
      warmupSteps: Math.min(300, Math.floor(steps / 2)),
      learningRateDecay: { totalSteps: steps, finalRatio: 0.1 },
      schedule: scheduleSpec,
      lossWeighting: { kind: "v", max: 1e6 },
      maxGradNorm: 1,
      promptDropout: 0.1,
      objective: "mse",
      workers: 2,
      clock: () => performance.now(),
      ...(initialWeights ? { initialWeights } : {}),
    });
    try {
      await trainer.run({ untilStep: steps });
      return trainer.weights();
    } finally {
      await trainer.close();
    }
  };
  const weights = await stage(
    c.vary,
    c.steps,
    c.first ? await stage(c.first.vary, c.first.steps) : undefined,
  );
  const trainSeconds = (performance.now() - t0) / 1000;
  const { bytes } = await exportVerifiedOnnx(config, weights, { producerVersion: "bench-position" });
  const host = await ModelHost.create(
    bytes,
    { imageSize: SIZE, contextLength: CONTEXT },
    { intraOpNumThreads: 2, warmUpBatch: 0 },
  );
  try {
    const probe = await probePlacement(
      {
        host,
        encode: (caption) => tokenizer.encode(caption),
        alphasCumprod: createSchedule(scheduleSpec).alphasCumprod,
        imageSize: SIZE,
        contextLength: CONTEXT,
      },
      c.positions,
    );
    return { ...c, ...probe, trainSeconds };
  } finally {
    await host.release();
  }
}

/** A model to probe: its ONNX host, tokenizer and noise schedule (a trained condition here, or any model folder). */
type Probed = {
  host: ModelHost;
  encode: (caption: string) => ArrayLike<number>;
  alphasCumprod: ArrayLike<number>;
  imageSize: number;
  contextLength: number;
};

/** The placement probe: per t, the mean centroid error of "a large red square <position> on a plain blue background". */
export async function probePlacement(
  m: Probed,
  positions: 4 | 9,
): Promise<Pick<ConditionResult, "error" | "missing">> {
  const size = m.imageSize;
  const error: Record<number, number | null> = {};
  const missing: Record<number, number> = {};
  const draws = 8;
  const px = size * size * 3;
  for (const t of PROBE_T) {
    const ab = m.alphasCumprod[t] as number;
    const distances: number[] = [];
    missing[t] = 0;
    for (const place of POSITIONS_9.slice(0, positions)) {
      const x = new Float32Array(draws * px);
      const g = new GaussianRng(7000 + t);
      for (let k = 0; k < x.length; k++) x[k] = g.nextGaussian();
      const probe = oneObjectScene(place, "red", "blue", "large", "square", [0, 0]);
      const one = m.encode(formatCaption(fullDescription(probe)));
      const tk = new BigInt64Array(draws * m.contextLength);
      for (let d = 0; d < draws; d++)
        for (let j = 0; j < m.contextLength; j++) tk[d * m.contextLength + j] = BigInt(one[j] ?? 0);
      const eps = await m.host.forward({ batch: draws, tokens: tk, x, t: new Float32Array(draws).fill(t) });
      let sw = 0,
        sx = 0,
        sy = 0;
      for (let d = 0; d < draws; d++) {
        for (let yy = 0; yy < size; yy++) {
          for (let xx = 0; xx < size; xx++) {
            const o = d * px + (yy * size + xx) * 3;
            const x0 = (ch: number) =>
              ((x[o + ch] as number) - Math.sqrt(1 - ab) * (eps[o + ch] as number)) / Math.sqrt(ab);
            const w = Math.max(0, x0(0) - x0(2)); // red over blue
            sw += w;
            sx += (w * (xx + 0.5)) / size;
            sy += (w * (yy + 0.5)) / size;
          }
        }
      }
      const { x: ax, y: ay } = probe.objects[0] as { x: number; y: number };
      if (sw < 1e-3) missing[t] += 1;
      else distances.push(Math.hypot(sx / sw - ax, sy / sw - ay));
    }
    error[t] = distances.length ? distances.reduce((a, b) => a + b, 0) / distances.length : null;
  }
  return { error, missing };
}

/** The conditions of the BENCHMARKS.md table. */
export const MATRIX: Condition[] = [
  { vary: [], positions: 4, steps: 400, layout: false },
  { vary: [], positions: 9, steps: 400, layout: false },
  { vary: ["colour"], positions: 9, steps: 400, layout: false },
  { vary: ["colour", "background"], positions: 9, steps: 400, layout: false },
  { vary: ["colour", "size"], positions: 9, steps: 400, layout: false },
  { vary: ["colour", "shape"], positions: 9, steps: 400, layout: false },
  { vary: ["colour", "background", "shape"], positions: 9, steps: 400, layout: false },
  { vary: ["colour", "background", "size"], positions: 9, steps: 400, layout: false },
  { vary: ["colour", "background", "size", "shape"], positions: 9, steps: 400, layout: false },
  { vary: ["colour", "background", "size", "shape"], positions: 9, steps: 1200, layout: false },
  { vary: ["colour", "background", "size", "shape"], positions: 9, steps: 1200, layout: true },
  { vary: ["colour", "background", "size", "shape"], positions: 9, steps: 800, layout: false },
  {
    vary: ["colour", "background", "size", "shape"],
    positions: 9,
    steps: 400,
    layout: false,
    first: { vary: ["colour"], steps: 400 },
  },
];

const cell = (r: ConditionResult, t: number): string => {
  const e = r.error[t];
  const m = r.missing[t] ?? 0;
  if (e === null || e === undefined) return "no object";
  return `${e.toFixed(3)}${m ? ` (${m} of ${r.positions} without object)` : ""}`;
};

function table(results: ConditionResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.vary.length ? r.vary.join(", ") : "nothing"} | ${r.positions} | ${r.first ? `${r.first.steps} varying ${r.first.vary.join(", ") || "nothing"}, then ` : ""}${r.steps}${r.layout ? " + text layout" : ""} | ${PROBE_T.map((t) => cell(r, t)).join(" | ")} | ${r.trainSeconds.toFixed(0)} s |`,
  );
  return [
    `| what varies besides position | positions | steps | ${PROBE_T.map((t) => `error t = ${t}`).join(" | ")} | training |`,
    `|---|---|---|${PROBE_T.map(() => "---|").join("")}---|`,
    ...rows,
  ].join("\n");
}

export default async function main(argv: string[]): Promise<void> {
  const { condition, matrix, model } = parseArgs(argv);
  if (model !== undefined) {
    // Probe a trained model folder (e.g. after each stage of a staged pretrain) instead of training one.
    const m = await loadModel(model, { intraOpNumThreads: 2, warmUpBatch: 0 });
    try {
      const r = await probePlacement(
        {
          host: m.host,
          encode: (caption) => m.tokenizer.encode(caption).ids,
          alphasCumprod: m.alphasCumprod,
          imageSize: m.manifest.imageSize,
          contextLength: m.manifest.contextLength,
        },
        condition.positions,
      );
      console.log(
        `${model}: ${PROBE_T.map((t) => `t = ${t}: ${r.error[t] === null ? "no object" : (r.error[t] as number).toFixed(3)}${r.missing[t] ? ` (${r.missing[t]} of ${condition.positions} without object)` : ""}`).join(", ")}`,
      );
    } finally {
      await m.host.release();
    }
    return;
  }
  const conditions = matrix ? MATRIX : [condition];
  const results: ConditionResult[] = [];
  for (const [i, c] of conditions.entries()) {
    process.stderr.write(
      `[${i + 1}/${conditions.length}] vary ${c.vary.join(",") || "nothing"}, ${c.positions} positions, ${c.first ? `${c.first.steps} steps varying ${c.first.vary.join(",") || "nothing"}, then ` : ""}${c.steps} steps${c.layout ? ", text layout" : ""}…\n`,
    );
    const r = await runCondition(c);
    results.push(r);
    console.log(table([r]).split("\n").at(-1));
  }
  writeResult(matrix ? "position" : "position-single", {
    results,
    medianTrainSeconds: median(results.map((r) => r.trainSeconds)),
  });
  if (!matrix) return;
  const md = readFileSync(BENCHMARKS_MD, "utf8");
  const start = md.indexOf(SECTION_START);
  const end = md.indexOf(SECTION_END);
  if (start < 0 || end < start)
    throw new Error(`BENCHMARKS.md has no ${SECTION_START} … ${SECTION_END} section`);
  const section = [
    SECTION_START,
    "## Where the base model's position failure comes from (`pnpm bench position --matrix`)",
    "",
    `Machine: ${hostLine()}. Written ${new Date().toISOString().slice(0, 16)}Z. Method: bench/position.ts (header). Error = mean distance`,
    "between the red-over-blue centroid of x̂₀ predicted from pure noise and where the renderer puts the named position",
    "(image sides; 0 = placed right, ≈ 0.2 = the same centred blob for every caption).",
    "",
    table(results),
    SECTION_END,
  ].join("\n");
  writeFileSync(BENCHMARKS_MD, md.slice(0, start) + section + md.slice(end + SECTION_END.length));
}
