/**
 * The deliberately imperfect training distribution. A base model trained on clean renders
 * would leave raters nothing to prefer; real pretrained models inherit the flaws of their data,
 * so this world's training images carry some too. Each flaw is applied independently with its
 * own rate and a strength drawn uniformly from its range, so an image can carry several and the
 * clean share is ∏(1 − rate) (≈ 40% for DEFAULT_TRAINING_MIX).
 *
 * | kind          | what it does                                                 | strength unit                        |
 * |---------------|--------------------------------------------------------------|--------------------------------------|
 * | shift         | moves every object off its stated position                   | distance, fraction of the side       |
 * | swap          | the caption names a wrong value for one specified attribute  | (unused)                             |
 * | desaturate    | mixes every pixel toward its grey (luma)                     | mix fraction 0…1                     |
 * | low-contrast  | pulls every pixel toward the image's mean colour             | pull fraction 0…1                    |
 * | blur          | Gaussian blur                                                | σ, fraction of the side              |
 * | noise         | additive i.i.d. Gaussian noise per channel                   | σ, fraction of 255                   |
 * | blotch        | smooth low-frequency colour variation over the whole image   | peak amplitude, fraction of 255      |
 *
 * "blotch" is not in DEFAULT_TRAINING_MIX: together with mild blur and noise it imitates what a
 * small diffusion model leaves behind (GENERATOR_LIKE_MIX), which is what the judge is validated
 * against beyond clean renders.
 */
import { SynthError } from "../errors";
import { at as checkedAt } from "../image";
import { type Rng } from "../rng";
import { BACKGROUND_STYLES, COLOURS, POSITIONS, SHAPES, SIZES } from "./attributes";
import { meanColour } from "./render";
import { type Description, type Scene } from "./scene";

// A module-local alias: transpilers (tsx, vitest) turn calls to an imported binding into a
// getter call each time, which dominates these per-pixel loops.
const at = checkedAt;

export const FLAW_KINDS = ["shift", "swap", "desaturate", "low-contrast", "blur", "noise", "blotch"] as const;
export type FlawKind = (typeof FLAW_KINDS)[number];

/** One flaw of a mix: applied with probability `rate`, strength uniform in [min, max]. */
export type FlawSpec = { kind: FlawKind; rate: number; strength: readonly [number, number] };
/** A training distribution: the flaws it applies, independently. */
export type TrainingMix = { flaws: readonly FlawSpec[] };
/** A flaw as applied to one example. */
export type AppliedFlaw = { kind: FlawKind; strength: number };

/** The base model's training distribution: ≈ 60% of images carry at least one flaw. */
export const DEFAULT_TRAINING_MIX: TrainingMix = {
  flaws: [
    { kind: "blur", rate: 0.2, strength: [0.025, 0.05] },
    { kind: "desaturate", rate: 0.15, strength: [0.5, 0.85] },
    { kind: "shift", rate: 0.12, strength: [0.1, 0.18] },
    { kind: "low-contrast", rate: 0.15, strength: [0.4, 0.65] },
    { kind: "swap", rate: 0.1, strength: [1, 1] },
    { kind: "noise", rate: 0.12, strength: [0.06, 0.14] },
  ],
};

/** Every image gets soft edges, grain and a blotchy background, as a small diffusion model's samples do (judge validation). */
export const GENERATOR_LIKE_MIX: TrainingMix = {
  flaws: [
    { kind: "blotch", rate: 1, strength: [0.03, 0.06] },
    { kind: "blur", rate: 1, strength: [0.012, 0.022] },
    { kind: "noise", rate: 1, strength: [0.01, 0.025] },
  ],
};

/** No flaws: every image is a clean, faithful render. */
export const CLEAN_MIX: TrainingMix = { flaws: [] };

/** Share of images a mix leaves without any flaw: ∏(1 − rate). */
export function cleanShare(mix: TrainingMix): number {
  return mix.flaws.reduce((p, f) => p * (1 - f.rate), 1);
}

/** Checks a mix; throws SynthError("INVALID_OPTIONS") naming the bad entry. */
export function validateTrainingMix(mix: TrainingMix): void {
  mix.flaws.forEach((f, i) => {
    const where = `mix.flaws[${i}]`;
    if (!(FLAW_KINDS as readonly string[]).includes(f.kind)) {
      throw new SynthError(
        "INVALID_OPTIONS",
        `${where}.kind must be one of ${FLAW_KINDS.join(", ")}, got ${String(f.kind)}`,
      );
    }
    if (!(f.rate >= 0 && f.rate <= 1))
      throw new SynthError("INVALID_OPTIONS", `${where}.rate must be in [0, 1], got ${f.rate}`);
    const [lo, hi] = f.strength;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo >= 0 && lo <= hi)) {
      throw new SynthError(
        "INVALID_OPTIONS",
        `${where}.strength must be [min, max] with 0 ≤ min ≤ max, got [${lo}, ${hi}]`,
      );
    }
  });
}

/** Draws which flaws of a mix an example gets, in mix order. */
export function drawFlaws(mix: TrainingMix, rng: Rng): AppliedFlaw[] {
  const out: AppliedFlaw[] = [];
  for (const f of mix.flaws) {
    // Always draw both numbers so one flaw's rate does not shift the next flaw's stream.
    const hit = rng.chance(f.rate);
    const strength = rng.range(f.strength[0], f.strength[1]);
    if (hit) out.push({ kind: f.kind, strength });
  }
  return out;
}

/** The "shift" flaw: moves every object `distance` (fraction of the side) in a random direction, kept in frame. */
export function shiftScene(scene: Scene, distance: number, rng: Rng): Scene {
  return {
    ...scene,
    objects: scene.objects.map((o) => {
      const angle = rng.range(0, 2 * Math.PI);
      const clamp = (c: number): number => Math.min(1 - o.radius, Math.max(o.radius, c));
      return { ...o, x: clamp(o.x + distance * Math.cos(angle)), y: clamp(o.y + distance * Math.sin(angle)) };
    }),
  };
}

/** The "swap" flaw: one specified attribute of the description replaced by another value (caption ≠ image). */
export function swapAttribute(description: Description, rng: Rng): Description {
  const objects = description.objects.map((o) => ({ ...o }));
  const background = description.background === undefined ? undefined : { ...description.background };
  const other = <T>(values: readonly T[], current: T): T => rng.pick(values.filter((v) => v !== current));
  const edits: Array<() => void> = [];
  for (const o of objects) {
    if (o.colour !== undefined) {
      const c = o.colour;
      edits.push(() => (o.colour = other(COLOURS, c)));
    }
    if (o.shape !== undefined) {
      const s = o.shape;
      edits.push(() => (o.shape = other(SHAPES, s)));
    }
    if (o.size !== undefined) {
      const s = o.size;
      edits.push(() => (o.size = other(SIZES, s)));
    }
    if (o.position !== undefined) {
      const p = o.position;
      edits.push(() => (o.position = other(POSITIONS, p)));
    }
  }
  if (background?.colour !== undefined) {
    const c = background.colour;
    edits.push(() => (background.colour = other(COLOURS, c)));
  }
  if (background?.style !== undefined) {
    const s = background.style;
    edits.push(() => (background.style = other(BACKGROUND_STYLES, s)));
  }
  if (edits.length > 0) rng.pick(edits)();
  return background === undefined ? { objects } : { objects, background };
}

/** The "desaturate" flaw in place: each pixel mixed toward its Rec. 601 luma by `amount`. */
export function desaturate(values: Float32Array, amount: number): void {
  for (let i = 0; i < values.length; i += 3) {
    const r = at(values, i);
    const g = at(values, i + 1);
    const b = at(values, i + 2);
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    values[i] = r + (y - r) * amount;
    values[i + 1] = g + (y - g) * amount;
    values[i + 2] = b + (y - b) * amount;
  }
}

/** The "low-contrast" flaw in place: each pixel pulled toward the image's mean colour by `amount`. */
export function reduceContrast(values: Float32Array, amount: number): void {
  const mean = meanColour(values);
  for (let i = 0; i < values.length; i++) {
    const m = at(mean, i % 3);
    values[i] = at(values, i) + (m - at(values, i)) * amount;
  }
}

/** The "blur" flaw in place: separable Gaussian blur with σ in pixels, edges clamped. */
export function gaussianBlur(values: Float32Array, size: number, sigmaPx: number): void {
  if (sigmaPx <= 0) return;
  const radius = Math.ceil(3 * sigmaPx);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, k) =>
    Math.exp(-((k - radius) ** 2) / (2 * sigmaPx * sigmaPx)),
  );
  const total = kernel.reduce((s, w) => s + w, 0);
  const weights = kernel.map((w) => w / total);
  const tmp = new Float32Array(values.length);
  const pass = (src: Float32Array, dst: Float32Array, isHorizontal: boolean): void => {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let ch = 0; ch < 3; ch++) {
          let acc = 0;
          for (let k = -radius; k <= radius; k++) {
            const xx = isHorizontal ? Math.min(size - 1, Math.max(0, x + k)) : x;
            const yy = isHorizontal ? y : Math.min(size - 1, Math.max(0, y + k));
            acc += at(weights, k + radius) * at(src, (yy * size + xx) * 3 + ch);
          }
          dst[(y * size + x) * 3 + ch] = acc;
        }
      }
    }
  };
  pass(values, tmp, true);
  pass(tmp, values, false);
}

/** The "noise" flaw in place: adds N(0, (σ·255)²) to every channel value. */
export function addNoise(values: Float32Array, sigma: number, rng: Rng): void {
  for (let i = 0; i < values.length; i++) values[i] = at(values, i) + rng.normal() * sigma * 255;
}

/** The "blotch" flaw in place: per channel, a sum of three random low-frequency cosine products, peak ≈ amplitude·255. */
export function addBlotches(values: Float32Array, size: number, amplitude: number, rng: Rng): void {
  for (let ch = 0; ch < 3; ch++) {
    const waves = Array.from(
      { length: 3 },
      () =>
        [rng.range(0.5, 2), rng.range(0.5, 2), rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI)] as const,
    );
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let s = 0;
        for (const [fx, fy, px, py] of waves)
          s +=
            Math.cos((fx * Math.PI * (x + 0.5)) / size + px) *
            Math.cos((fy * Math.PI * (y + 0.5)) / size + py);
        const i = (y * size + x) * 3 + ch;
        values[i] = at(values, i) + (amplitude * 255 * s) / 3;
      }
    }
  }
}

/** Applies the pixel-level flaws of `flaws` to a rendered float buffer in a fixed order (colour, contrast, blotches, blur, then noise). */
export function applyPixelFlaws(
  values: Float32Array,
  size: number,
  flaws: readonly AppliedFlaw[],
  rng: Rng,
): void {
  const strengthOf = (kind: FlawKind): number | undefined => flaws.find((f) => f.kind === kind)?.strength;
  const d = strengthOf("desaturate");
  if (d !== undefined) desaturate(values, d);
  const c = strengthOf("low-contrast");
  if (c !== undefined) reduceContrast(values, c);
  const blotch = strengthOf("blotch");
  if (blotch !== undefined) addBlotches(values, size, blotch, rng);
  const b = strengthOf("blur");
  if (b !== undefined) gaussianBlur(values, size, b * size);
  const n = strengthOf("noise");
  if (n !== undefined) addNoise(values, n, rng);
}
