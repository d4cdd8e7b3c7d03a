import { describe, expect, it } from "vitest";

import { contactSheet, drawText, wrapText } from "./contact-sheet";
import { createImage } from "./image";
import { sampleExample } from "./world/dataset";

describe("contact sheet", () => {
  it("lays out labelled rows of upscaled images", () => {
    const a = sampleExample(1, 0, { size: 16 }).image;
    const b = sampleExample(1, 1, { size: 16 }).image;
    const sheet = contactSheet(
      [
        { label: "a red circle", images: [a, b] },
        { label: "row two", images: [a] },
      ],
      { imageScale: 2, padding: 4 },
    );
    const rowWidth = 4 + 2 * (16 * 2 + 4);
    expect(sheet.width).toBe(Math.max(rowWidth, 4 * 2 + 20 * 6));
    const rowHeight = 4 + 9 + 32 + 4;
    expect(sheet.height).toBe(2 * rowHeight);
    expect(sheet.data.length).toBe(sheet.width * sheet.height * 3);
    // The second image's top-left source pixel lands at (4 + 36, 4 + 9), doubled.
    for (const [dx, dy] of [
      [0, 0],
      [1, 1],
    ] as const) {
      const i = ((13 + dy) * sheet.width + 40 + dx) * 3;
      expect([...sheet.data.subarray(i, i + 3)]).toEqual([...b.data.subarray(0, 3)]);
    }
  });

  it("draws text and wraps it", () => {
    const img = createImage(40, 10);
    expect(drawText(img, "Hi 1", 0, 0, [255, 255, 255])).toBe(24);
    expect(img.data.some((v) => v === 255)).toBe(true);
    expect(wrapText("a large red circle on a blue background", 12)).toEqual([
      "a large red",
      "circle on a",
      "blue",
      "background",
    ]);
  });
});
