import { describe, expect, it } from "vitest";

import { boxDownsample, meanPairwiseDistance, promptSetDiversity } from "./diversity";
import { isSynthError } from "./errors";
import { createImage, type RgbImage } from "./image";
import { createRng } from "./rng";
import { renderScene } from "./world/render";
import { completeScene, type Description } from "./world/scene";
import { sampleExample } from "./world/dataset";

const solid = (size: number, v: number): RgbImage => {
  const img = createImage(size, size);
  img.data.fill(v);
  return img;
};

/** Grey with a ±amp checkerboard per pixel: pure high-frequency noise around a flat mean. */
const checker = (size: number, grey: number, amp: number): RgbImage => {
  const img = createImage(size, size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      img.data.fill((x + y) % 2 === 0 ? grey + amp : grey - amp, (y * size + x) * 3, (y * size + x) * 3 + 3);
  return img;
};

describe("diversity", () => {
  it("is 0 for identical images and 1 for black vs white", () => {
    const a = sampleExample(3, 0, { size: 16 }).image;
    expect(meanPairwiseDistance([a, a, a])).toBe(0);
    expect(meanPairwiseDistance([solid(16, 0), solid(16, 255)])).toBeCloseTo(1, 12);
    // Mean over the three pairs: (1 + 0.5 + 0.5) / 3 with a mid-grey third image (128/255 ≈ 0.502).
    expect(meanPairwiseDistance([solid(16, 0), solid(16, 255), solid(16, 128)])).toBeCloseTo(
      (1 + 128 / 255 + 127 / 255) / 3,
      12,
    );
  });

  it("box-averages cells, so per-pixel noise does not count at the default grid but does at pixel level", () => {
    const cells = boxDownsample(checker(16, 128, 40), 4);
    for (const v of cells) expect(v).toBeCloseTo(128 / 255, 12);
    const pair = [solid(16, 128), checker(16, 128, 40)];
    expect(meanPairwiseDistance(pair)).toBeCloseTo(0, 12);
    expect(meanPairwiseDistance(pair, { grid: 16 })).toBeCloseTo(40 / 255, 12);
  });

  it("ranks different compositions of one caption above re-renders of one scene", () => {
    // "a red circle": the unspecified size, position and background are completed at random per draw.
    const description: Description = { objects: [{ colour: "red", shape: "circle" }] };
    const varied = Array.from({ length: 6 }, (_, i) =>
      renderScene(completeScene(description, createRng(7, i)), 16),
    );
    const scene = completeScene(description, createRng(7, 0));
    const same = Array.from({ length: 6 }, (_, i) => {
      const img = renderScene(scene, 16);
      const rng = createRng(9, i);
      for (let k = 0; k < img.data.length; k++)
        img.data[k] = Math.max(0, Math.min(255, (img.data[k] ?? 0) + Math.round(rng.normal() * 20)));
      return img;
    });
    const dVaried = meanPairwiseDistance(varied);
    const dSame = meanPairwiseDistance(same);
    expect(dVaried).toBeGreaterThan(0.1);
    expect(dSame).toBeLessThan(0.03);
    expect(promptSetDiversity([varied, same])).toBeCloseTo((dVaried + dSame) / 2, 12);
  });

  it("refuses fewer than two images, mixed sizes and a grid that does not divide the side", () => {
    const a = solid(16, 0);
    const cases: Array<() => unknown> = [
      () => meanPairwiseDistance([a]),
      () => meanPairwiseDistance([a, solid(24, 0)]),
      () => meanPairwiseDistance([a, a], { grid: 5 }),
      () => promptSetDiversity([]),
    ];
    for (const f of cases) {
      let caught: unknown;
      try {
        f();
      } catch (e) {
        caught = e;
      }
      expect(isSynthError(caught, "INVALID_OPTIONS")).toBe(true);
    }
  });
});
