/**
 * Caption-free analysis of an image: the background (colour, solid or gradient), up to two
 * objects (shape, colour, size, position, each as a probability over the vocabulary plus the
 * most likely value), and the quality measurements. The judge compares this with a caption;
 * raters read the quality numbers. It sees only pixels — never the scene that made them.
 */
import { at as checkedAt, assertRgbImage, type RgbImage } from "../image";
import {
  COLOURS,
  POSITION_BOUNDARIES,
  POSITIONS,
  POSITION_AXES,
  SHAPES,
  SIZE_RADIUS,
  SIZES,
  BACKGROUND_STYLES,
  type BackgroundStyle,
  type Colour,
  type Position,
  type Shape,
  type Size,
} from "../world/attributes";
import { oklabDistance, rankColours, rgbToOklab, saturationOf, type Rgb } from "../world/colour";
import { objectGeometry, type ObjectGeometry } from "./geometry";
import { segment, type Component, type Segmentation } from "./segment";

// A module-local alias: transpilers (tsx, vitest) turn calls to an imported binding into a
// getter call each time, which dominates these per-pixel loops.
const at = checkedAt;

/** A probability for every value of an attribute. */
export type Distribution<T extends string> = Readonly<Record<T, number>>;

export type DetectedObject = {
  shape: Shape;
  colour: Colour;
  size: Size;
  position: Position;
  shapeProbs: Distribution<Shape>;
  colourProbs: Distribution<Colour>;
  sizeProbs: Distribution<Size>;
  positionProbs: Distribution<Position>;
  /** Centroid, fractions of width/height. */
  x: number;
  y: number;
  /** Equivalent radius √(filled area / π), fraction of the side. */
  radius: number;
  /** Core colour, sRGB 0…255. */
  rgb: Rgb;
  /** OKLab distance between the object's core colour and the background under it. */
  contrast: number;
  /** Mean edge steepness of the coverage map, ≈ 1 / edge width in px (0…1). */
  sharpness: number;
  geometry: ObjectGeometry;
};

export type DetectedBackground = {
  colour: Colour;
  style: BackgroundStyle;
  colourProbs: Distribution<Colour>;
  styleProbs: Distribution<BackgroundStyle>;
  /** Mean background colour (the plane at the image centre), sRGB 0…255. */
  rgb: Rgb;
  /** RGB distance between the plane's values at opposite ends of its steepest axis (0…441). */
  gradientRange: number;
};

/** Image-quality measurements; the shapes-world counterpart of an aesthetic score's inputs. */
export type QualityFeatures = {
  /** Edge steepness of the objects (≈ 1 / edge width in px), 0…1; blur lowers it. 0 when nothing was found. */
  sharpness: number;
  /** Mean OKLab distance object ↔ background, 0…≈0.9; low-contrast and desaturation lower it. */
  contrast: number;
  /** Estimated per-channel pixel noise σ, fraction of 255 (0 for clean renders). */
  noise: number;
  /** Share of the image covered by specks that are not objects, 0…1. */
  strayArea: number;
  /** 1 − exp(−(noise/0.04 + strayArea/0.02)): 0 clean, → 1 with noise or debris. */
  artefacts: number;
  /** Mean HSV saturation over all pixels, 0…1. */
  saturation: number;
  /** Mean (R − B) / 255 over all pixels, −1…1: positive = warm. */
  warmth: number;
  /** Mean red minus mean of all channels, /255 (the paper's redness), −1/3…2/3. */
  redness: number;
  /** Mean Rec. 601 luma / 255, 0…1. */
  brightness: number;
  /** The combined quality score, 0…1 (see qualityScore). */
  score: number;
};

export type ImageAnalysis = {
  width: number;
  height: number;
  background: DetectedBackground;
  /** Up to two objects, largest first. */
  objects: DetectedObject[];
  quality: QualityFeatures;
};

/** Softmax of logits keyed by value. */
function softmax<T extends string>(keys: readonly T[], logit: (k: T) => number): Record<T, number> {
  const ls = keys.map(logit);
  const max = Math.max(...ls);
  const es = ls.map((l) => Math.exp(l - max));
  const total = es.reduce((s, e) => s + e, 0);
  return Object.fromEntries(keys.map((k, i) => [k, (es[i] ?? 0) / total])) as Record<T, number>;
}

function argmax<T extends string>(dist: Readonly<Record<T, number>>, keys: readonly T[]): T {
  let best = keys[0] as T; // safe: every vocabulary is non-empty
  for (const k of keys) if (dist[k] > dist[best]) best = k;
  return best;
}

/** OKLab distance scale of colour softmaxes: neighbouring palette colours sit ≈ 0.1 apart. */
const COLOUR_TEMPERATURE = 0.02;

function colourDistribution(rgb: Rgb): Record<Colour, number> {
  const ranked = rankColours(rgb);
  const d = Object.fromEntries(ranked.map((r) => [r.colour, r.distance])) as Record<Colour, number>;
  return softmax(COLOURS, (c) => -d[c] / COLOUR_TEMPERATURE);
}

/**
 * Shape evidence, each scaled so a clean 32 px render of its shape scores ≈ 1: ring ← the larger
 * of hole ratio and central dip (the dip survives blur that half-fills a small ring's hole),
 * triangle ← m_3, square ← m_4, star ← m_5; a disc scores ≈ 0 on all four. Logits are squared
 * distances to those one-hot prototypes; the scales are means measured on clean renders.
 */
const SHAPE_EVIDENCE_SCALE = { ring: 0.28, dip: 0.9, triangle: 0.52, square: 0.27, star: 0.48 } as const;
const SHAPE_SPREAD = 0.25;

function shapeDistribution(g: ObjectGeometry): Record<Shape, number> {
  const v = {
    ring: Math.max(g.holeRatio / SHAPE_EVIDENCE_SCALE.ring, g.centralDip / SHAPE_EVIDENCE_SCALE.dip),
    triangle: g.harmonics[1] / SHAPE_EVIDENCE_SCALE.triangle,
    square: g.harmonics[2] / SHAPE_EVIDENCE_SCALE.square,
    star: g.harmonics[3] / SHAPE_EVIDENCE_SCALE.star,
  };
  const keys = ["ring", "triangle", "square", "star"] as const;
  const dist2 = (proto: Shape): number => keys.reduce((s, k) => s + (v[k] - (k === proto ? 1 : 0)) ** 2, 0);
  return softmax(SHAPES, (s) => -dist2(s) / (2 * SHAPE_SPREAD * SHAPE_SPREAD));
}

/** Log-radius spread of size softmaxes: the bins sit ln(1.55) ≈ 0.44 and ln(1.42) ≈ 0.35 apart. */
const SIZE_SPREAD = 0.09;

function sizeDistribution(radius: number): Record<Size, number> {
  const lr = Math.log(Math.max(radius, 1e-4));
  return softmax(SIZES, (s) => -((lr - Math.log(SIZE_RADIUS[s])) ** 2) / (2 * SIZE_SPREAD * SIZE_SPREAD));
}

/** Width of the logistic ramp at position boundaries, fraction of the side. */
const POSITION_RAMP = 0.015;

function axisProbs(c: number): readonly [number, number, number] {
  const sig = (z: number): number => 1 / (1 + Math.exp(-z));
  const low = sig((POSITION_BOUNDARIES[0] - c) / POSITION_RAMP);
  const high = sig((c - POSITION_BOUNDARIES[1]) / POSITION_RAMP);
  return [low, Math.max(0, 1 - low - high), high];
}

function positionDistribution(x: number, y: number): Record<Position, number> {
  const px = axisProbs(x);
  const py = axisProbs(y);
  return Object.fromEntries(
    POSITIONS.map((p) => {
      const [h, v] = POSITION_AXES[p];
      return [p, at(px, h + 1) * at(py, v + 1)];
    }),
  ) as Record<Position, number>;
}

/** Gradient range (RGB units across the image) at which "gradient" becomes more likely than "solid". */
const GRADIENT_THRESHOLD = 24;

function backgroundOf(seg: Segmentation): DetectedBackground {
  const [pr, pg, pb] = seg.background.planes;
  const rgb: Rgb = [
    pr[0] + pr[1] / 2 + pr[2] / 2,
    pg[0] + pg[1] / 2 + pg[2] / 2,
    pb[0] + pb[1] / 2 + pb[2] / 2,
  ];
  const gradientRange = Math.hypot(Math.hypot(pr[1], pg[1], pb[1]), Math.hypot(pr[2], pg[2], pb[2]));
  const pGradient = 1 / (1 + Math.exp(-(gradientRange - GRADIENT_THRESHOLD) / 4));
  const styleProbs: Record<BackgroundStyle, number> = { solid: 1 - pGradient, gradient: pGradient };
  const colourProbs = colourDistribution(rgb);
  return {
    colour: argmax(colourProbs, COLOURS),
    style: argmax(styleProbs, BACKGROUND_STYLES),
    colourProbs,
    styleProbs,
    rgb,
    gradientRange,
  };
}

/** Edge energy over total variation of the coverage map: Σ|∇α|² / Σ|∇α| ≈ 1 / edge width. */
function edgeSharpness(
  c: Component,
  width: number,
  height: number,
): { sharpness: number; variation: number } {
  let energy = 0;
  let variation = 0;
  for (const [i, a] of c.ink) {
    const x = i % width;
    const y = Math.floor(i / width);
    const right = x + 1 < width ? (c.ink.get(i + 1) ?? 0) : a;
    const down = y + 1 < height ? (c.ink.get(i + width) ?? 0) : a;
    const g2 = (right - a) ** 2 + (down - a) ** 2;
    energy += g2;
    variation += Math.sqrt(g2);
  }
  return { sharpness: variation > 0 ? Math.min(1, energy / variation) : 0, variation };
}

function detect(c: Component, seg: Segmentation): DetectedObject & { variation: number } {
  const { width: w, height: h } = seg;
  const geometry = objectGeometry(c, w);
  const x = geometry.cx / w;
  const y = geometry.cy / h;
  const radius = Math.sqrt(geometry.area / Math.PI) / Math.sqrt(w * h);
  const shapeProbs = shapeDistribution(geometry);
  const colourProbs = colourDistribution(c.colour);
  const sizeProbs = sizeDistribution(radius);
  const positionProbs = positionDistribution(x, y);
  const ci =
    Math.min(h - 1, Math.max(0, Math.floor(geometry.cy))) * w +
    Math.min(w - 1, Math.max(0, Math.floor(geometry.cx)));
  const bgUnder = rgbToOklab(
    at(seg.backgroundImage, ci * 3),
    at(seg.backgroundImage, ci * 3 + 1),
    at(seg.backgroundImage, ci * 3 + 2),
  );
  const { sharpness, variation } = edgeSharpness(c, w, h);
  return {
    shape: argmax(shapeProbs, SHAPES),
    colour: argmax(colourProbs, COLOURS),
    size: argmax(sizeProbs, SIZES),
    position: argmax(positionProbs, POSITIONS),
    shapeProbs,
    colourProbs,
    sizeProbs,
    positionProbs,
    x,
    y,
    radius,
    rgb: c.colour,
    contrast: oklabDistance(rgbToOklab(c.colour[0], c.colour[1], c.colour[2]), bgUnder),
    sharpness,
    geometry,
    variation,
  };
}

/**
 * The quality score, 0…1: 0.35·sharp + 0.25·contrast + 0.25·(1 − artefacts) + 0.15·saturation,
 * each term normalised so a clean render scores ≈ 1 (sharp = min(1, sharpness/0.55),
 * contrast = min(1, contrast/0.3), saturation = min(1, saturation/0.5)).
 */
export function qualityScore(q: Omit<QualityFeatures, "score">): number {
  const sharp = Math.min(1, q.sharpness / 0.55);
  const contrast = Math.min(1, q.contrast / 0.3);
  const saturation = Math.min(1, q.saturation / 0.5);
  return 0.35 * sharp + 0.25 * contrast + 0.25 * (1 - q.artefacts) + 0.15 * saturation;
}

/** Caption-free analysis of an RGB8 image (see module header). */
export function analyzeImage(image: RgbImage): ImageAnalysis {
  assertRgbImage(image);
  const seg = segment(image);
  const { width: w, height: h, data } = image;
  const n = w * h;
  const all = seg.components.map((c) => detect(c, seg));
  const objects = all.slice(0, 2);
  // Components beyond the two largest are debris, like specks; so is anything under 1/4 of the largest object.
  const largest = objects[0]?.geometry.area ?? 0;
  const kept = objects.filter((o, i) => i === 0 || o.geometry.area >= largest / 4);
  const debris = all.filter((o) => !kept.includes(o)).reduce((s, o) => s + o.geometry.area, 0);
  let sat = 0;
  let warm = 0;
  let red = 0;
  let luma = 0;
  for (let i = 0; i < n; i++) {
    const r = at(data, i * 3);
    const g = at(data, i * 3 + 1);
    const b = at(data, i * 3 + 2);
    sat += saturationOf(r, g, b);
    warm += r - b;
    red += r - (r + g + b) / 3;
    luma += 0.299 * r + 0.587 * g + 0.114 * b;
  }
  const totalVariation = kept.reduce((s, o) => s + o.variation, 0);
  const sharpness =
    totalVariation > 0 ? kept.reduce((s, o) => s + o.sharpness * o.variation, 0) / totalVariation : 0;
  const contrast = kept.length > 0 ? kept.reduce((s, o) => s + o.contrast, 0) / kept.length : 0;
  const noise = seg.background.noiseSigma / 255;
  const strayArea = (seg.strayPixels + debris) / n;
  const partial = {
    sharpness,
    contrast,
    noise,
    strayArea,
    artefacts: 1 - Math.exp(-(noise / 0.04 + strayArea / 0.02)),
    saturation: sat / n,
    warmth: warm / n / 255,
    redness: red / n / 255,
    brightness: luma / n / 255,
  };
  return {
    width: w,
    height: h,
    background: backgroundOf(seg),
    objects: kept.map(({ variation: _variation, ...o }) => o),
    quality: { ...partial, score: qualityScore(partial) },
  };
}
