/**
 * The training data source: example i of dataset seed s is a pure function of (s, i, options),
 * so any worker can draw any batch, resume anywhere, and reproduce an image bit for bit. Each
 * example carries the rendered image, its caption, what the caption specifies, the true scene
 * and the flaws applied — the last two for tests and analysis, never for the judge.
 */
import { SynthError } from "../errors";
import { IMAGE_SIZES, imagesToFloat32Batch, quantize, type ImageSize, type RgbImage } from "../image";
import { createRng } from "../rng";
import { formatCaption, MIN_CAPTION_WORDS_LIMIT } from "./caption";
import {
  applyPixelFlaws,
  drawFlaws,
  DEFAULT_TRAINING_MIX,
  shiftScene,
  swapAttribute,
  validateTrainingMix,
  type AppliedFlaw,
  type TrainingMix,
} from "./flaws";
import { renderSceneFloat } from "./render";
import {
  describeScene,
  sampleScene,
  sceneOptionsProblem,
  type CaptionOptions,
  type Description,
  type Scene,
  type SceneOptions,
} from "./scene";

export type ExampleOptions = {
  /** Image side in pixels: 16, 24 or 32; default 32. */
  size?: ImageSize;
  /** Flaw mix; default DEFAULT_TRAINING_MIX (use CLEAN_MIX for faithful renders). */
  mix?: TrainingMix;
  caption?: CaptionOptions;
  scene?: SceneOptions;
  /** Supersampling factor per axis; default 4. */
  supersample?: number;
};

export type Example = {
  /** RGB8 [size, size, 3]. */
  image: RgbImage;
  caption: string;
  /** What the caption specifies (after a "swap" flaw, possibly not what the image shows). */
  description: Description;
  /** What was drawn (after a "shift" flaw, the moved positions; `position` keeps the intended label). */
  scene: Scene;
  flaws: AppliedFlaw[];
};

/** RNG sub-streams of one example; fixed so adding a stream never reshuffles the others. */
const STREAM = { scene: 1, caption: 2, flaws: 3, shift: 4, swap: 5, noise: 6 } as const;

function checkOptions(options: ExampleOptions): void {
  if (options.size !== undefined && !(IMAGE_SIZES as readonly number[]).includes(options.size)) {
    throw new SynthError(
      "INVALID_OPTIONS",
      `size must be one of ${IMAGE_SIZES.join(", ")}, got ${options.size}`,
    );
  }
  if (options.mix !== undefined) validateTrainingMix(options.mix);
  const rates: Array<[string, number | undefined]> = [
    ["scene.twoObjectRate", options.scene?.twoObjectRate],
    ...Object.entries(options.caption ?? {})
      .filter(([k]) => k.endsWith("Rate"))
      .map(([k, v]): [string, number | undefined] => [`caption.${k}`, v]),
  ];
  for (const [name, rate] of rates) {
    if (rate !== undefined && !(typeof rate === "number" && rate >= 0 && rate <= 1)) {
      throw new SynthError("INVALID_OPTIONS", `${name} must be a probability in [0, 1], got ${String(rate)}`);
    }
  }
  const sceneProblem = options.scene === undefined ? null : sceneOptionsProblem(options.scene);
  if (sceneProblem !== null) throw new SynthError("INVALID_OPTIONS", sceneProblem);
  const maxWords = options.caption?.maxWords;
  if (maxWords !== undefined && (!Number.isInteger(maxWords) || maxWords < MIN_CAPTION_WORDS_LIMIT)) {
    throw new SynthError(
      "INVALID_OPTIONS",
      `caption.maxWords must be an integer ≥ ${MIN_CAPTION_WORDS_LIMIT}, got ${maxWords}`,
    );
  }
}

/** Renders a given scene with flaws into an example (the deterministic back half of sampleExample). */
export function renderExample(
  scene: Scene,
  description: Description,
  flaws: readonly AppliedFlaw[],
  seed: number,
  index: number,
  options: ExampleOptions = {},
): Example {
  const size = options.size ?? 32;
  const shift = flaws.find((f) => f.kind === "shift");
  const drawn =
    shift === undefined ? scene : shiftScene(scene, shift.strength, createRng(seed, index, STREAM.shift));
  const said = flaws.some((f) => f.kind === "swap")
    ? swapAttribute(description, createRng(seed, index, STREAM.swap))
    : description;
  const values = renderSceneFloat(drawn, size, options.supersample ?? 4);
  applyPixelFlaws(values, size, flaws, createRng(seed, index, STREAM.noise));
  return {
    image: quantize(values, size, size),
    caption: formatCaption(said),
    description: said,
    scene: drawn,
    flaws: [...flaws],
  };
}

/** Example `index` of the dataset with seed `seed` (non-negative integers); pure and deterministic. */
export function sampleExample(seed: number, index: number, options: ExampleOptions = {}): Example {
  checkOptions(options);
  const scene = sampleScene(createRng(seed, index, STREAM.scene), options.scene);
  const description = describeScene(scene, createRng(seed, index, STREAM.caption), options.caption);
  const flaws = drawFlaws(options.mix ?? DEFAULT_TRAINING_MIX, createRng(seed, index, STREAM.flaws));
  return renderExample(scene, description, flaws, seed, index, options);
}

/** Batch `batchIndex` of `batchSize` examples: indices batchIndex·batchSize … + batchSize − 1. */
export function sampleBatch(
  seed: number,
  batchIndex: number,
  batchSize: number,
  options: ExampleOptions = {},
): Example[] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new SynthError("INVALID_OPTIONS", `batchSize must be a positive integer, got ${batchSize}`);
  return Array.from({ length: batchSize }, (_, i) =>
    sampleExample(seed, batchIndex * batchSize + i, options),
  );
}

/** A training batch as the model wants it: images float32 [N, size, size, 3] in [−1, 1] and their captions. */
export type FloatBatch = { images: Float32Array; captions: string[]; size: number; count: number };

/** sampleBatch, converted for training (see FloatBatch). */
export function sampleFloatBatch(
  seed: number,
  batchIndex: number,
  batchSize: number,
  options: ExampleOptions = {},
): FloatBatch {
  const examples = sampleBatch(seed, batchIndex, batchSize, options);
  return {
    images: imagesToFloat32Batch(examples.map((e) => e.image)),
    captions: examples.map((e) => e.caption),
    size: options.size ?? 32,
    count: batchSize,
  };
}

/** An endless, seeded example stream starting at `start` (for `for … of` training loops). */
export function* iterateExamples(
  seed: number,
  options: ExampleOptions = {},
  start = 0,
): Generator<Example, never> {
  for (let i = start; ; i++) yield sampleExample(seed, i, options);
}
