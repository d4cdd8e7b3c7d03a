/**
 * Diversity of a set of images drawn for one prompt: the mean distance over all pairs, so that
 * "always draw the same image" scores 0 however well that one image is liked. Pixels are compared
 * after box-averaging each image down to `grid`×`grid` cells, so that per-pixel noise (which a
 * noisy generator has plenty of) does not count as diversity; what remains is where the colours
 * are — the composition (object place, size, colour, background). `grid` = the image side gives
 * the plain pixel distance.
 */
import { SynthError } from "./errors";
import { at, assertRgbImage, type RgbImage } from "./image";

export type DiversityOptions = {
  /** Cells per side of the box-averaged image compared (default 4); must divide the image side. */
  grid?: number;
};

/** RGB8 image → grid×grid×3 cell means in [0, 1]. */
export function boxDownsample(image: RgbImage, grid: number): Float64Array {
  assertRgbImage(image);
  const { width, height, data } = image;
  if (!Number.isInteger(grid) || grid < 1 || width % grid !== 0 || height % grid !== 0) {
    throw new SynthError(
      "INVALID_OPTIONS",
      `grid must be a positive integer dividing the image side (${width}×${height}), got ${grid}`,
    );
  }
  const cw = width / grid;
  const ch = height / grid;
  const out = new Float64Array(grid * grid * 3);
  for (let y = 0; y < height; y++) {
    const gy = Math.floor(y / ch);
    for (let x = 0; x < width; x++) {
      const cell = (gy * grid + Math.floor(x / cw)) * 3;
      const p = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) out[cell + c] = at(out, cell + c) + at(data, p + c);
    }
  }
  const scale = 1 / (255 * cw * ch);
  for (let i = 0; i < out.length; i++) out[i] = at(out, i) * scale;
  return out;
}

/** Root-mean-square difference of two equal-length vectors. */
function rms(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = at(a, i) - at(b, i);
    s += d * d;
  }
  return Math.sqrt(s / a.length);
}

/**
 * Mean pairwise RMS distance (0…1) between the images after box-averaging to grid×grid cells.
 * Needs at least two images of one size; 0 iff they all look the same at that grid.
 */
export function meanPairwiseDistance(images: readonly RgbImage[], options: DiversityOptions = {}): number {
  if (images.length < 2)
    throw new SynthError("INVALID_OPTIONS", `diversity needs at least 2 images, got ${images.length}`);
  const first = images[0] as RgbImage; // safe: length ≥ 2
  for (const img of images) {
    if (img.width !== first.width || img.height !== first.height) {
      throw new SynthError(
        "INVALID_OPTIONS",
        `images must share one size: ${first.width}×${first.height} vs ${img.width}×${img.height}`,
      );
    }
  }
  const grid = options.grid ?? 4;
  const cells = images.map((img) => boxDownsample(img, grid));
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < cells.length; i++) {
    for (let j = i + 1; j < cells.length; j++) {
      sum += rms(cells[i] as Float64Array, cells[j] as Float64Array);
      pairs++;
    }
  }
  return sum / pairs;
}

/**
 * Diversity of a generator on a prompt set: the mean over prompts of meanPairwiseDistance of that
 * prompt's images (each group needs ≥ 2 images).
 */
export function promptSetDiversity(
  groups: ReadonlyArray<readonly RgbImage[]>,
  options: DiversityOptions = {},
): number {
  if (groups.length === 0)
    throw new SynthError("INVALID_OPTIONS", "diversity needs at least one prompt's images");
  return groups.reduce((s, g) => s + meanPairwiseDistance(g, options), 0) / groups.length;
}
