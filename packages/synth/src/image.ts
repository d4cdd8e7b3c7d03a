/**
 * RGB8 images as the serving sampler returns them — `data` is [height, width, 3] row-major
 * uint8 — plus the conversions training needs (float32 in [−1, 1], same HWC layout) and the
 * bounds-checked element helpers the hot loops use under noUncheckedIndexedAccess.
 */
import { SynthError } from "./errors";

/** An RGB8 image: data is [height, width, 3] row-major (HWC), length width·height·3. */
export type RgbImage = { width: number; height: number; data: Uint8Array };

/** Image sizes the world renders and the judge is validated at. */
export const IMAGE_SIZES = [16, 24, 32] as const;
export type ImageSize = (typeof IMAGE_SIZES)[number];

/** Element i of a typed array or array; throws instead of yielding undefined (hot-loop helper). */
export function at(arr: ArrayLike<number>, i: number): number {
  const v = arr[i];
  if (v === undefined) throw new RangeError(`index ${i} out of bounds (length ${arr.length})`);
  return v;
}

/** Checks an image's shape; throws SynthError("INVALID_OPTIONS") naming what is wrong. */
export function assertRgbImage(image: RgbImage): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new SynthError(
      "INVALID_OPTIONS",
      `image width/height must be positive integers, got ${width}×${height}`,
    );
  }
  if (data.length !== width * height * 3) {
    throw new SynthError(
      "INVALID_OPTIONS",
      `image data must have width·height·3 = ${width * height * 3} bytes, got ${data.length}`,
    );
  }
}

/** A blank (black) image. */
export function createImage(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3) };
}

/** RGB8 [H, W, 3] → float32 [H, W, 3] in [−1, 1] (x / 127.5 − 1), the training input range. */
export function toFloat32(image: RgbImage): Float32Array {
  const out = new Float32Array(image.data.length);
  for (let i = 0; i < out.length; i++) out[i] = at(image.data, i) / 127.5 - 1;
  return out;
}

/** float32 [H, W, 3] in [−1, 1] → RGB8, clamped and rounded exactly as the serving sampler does. */
export function fromFloat32(values: ArrayLike<number>, width: number, height: number): RgbImage {
  if (values.length !== width * height * 3) {
    throw new SynthError(
      "INVALID_OPTIONS",
      `expected ${width * height * 3} values for ${width}×${height}×3, got ${values.length}`,
    );
  }
  const data = new Uint8Array(values.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round((at(values, i) + 1) * 127.5);
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width, height, data };
}

/** N images of one size → float32 [N, H, W, 3] in [−1, 1], row-major, ready for a tensor. */
export function imagesToFloat32Batch(images: readonly RgbImage[]): Float32Array {
  const first = images[0];
  if (first === undefined) return new Float32Array(0);
  const per = first.data.length;
  const out = new Float32Array(per * images.length);
  images.forEach((img, n) => {
    if (img.width !== first.width || img.height !== first.height) {
      throw new SynthError(
        "INVALID_OPTIONS",
        `batch images must share a size: ${img.width}×${img.height} vs ${first.width}×${first.height}`,
      );
    }
    for (let i = 0; i < per; i++) out[n * per + i] = at(img.data, i) / 127.5 - 1;
  });
  return out;
}

/** Float pixel buffer [H, W, 3] in 0…255 → RGB8 (round + clamp). */
export function quantize(values: Float32Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(values.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(at(values, i));
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { width, height, data };
}
