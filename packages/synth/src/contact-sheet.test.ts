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

  it("fills a grid of cells left to right, each line as tall as its tallest cell", () => {
    const a = sampleExample(1, 0, { size: 16 }).image;
    const cells = Array.from({ length: 5 }, (_, i) => ({ label: `cell ${i}`, images: [a] }));
    // A cell is as wide as the 20-character label minimum: 4·2 + 20·6 = 128 px.
    const cellWidth = 4 * 2 + 20 * 6;
    const cellHeight = 4 + 9 + 16 * 3 + 4;
    const sheet = contactSheet(cells, { imageScale: 3, padding: 4, columns: 2 });
    expect(sheet.width).toBe(2 * cellWidth);
    expect(sheet.height).toBe(3 * cellHeight);
    // Cell 3 (second column, second line): its image's top-left pixel.
    const i = ((cellHeight + 4 + 9) * sheet.width + cellWidth + 4) * 3;
    expect([...sheet.data.subarray(i, i + 3)]).toEqual([...a.data.subarray(0, 3)]);
    // The sixth slot of the grid is left empty (background).
    const e = ((2 * cellHeight + 20) * sheet.width + cellWidth + 20) * 3;
    expect([...sheet.data.subarray(e, e + 3)]).toEqual([24, 24, 24]);
    // More columns than cells: one line, as wide as the cells it holds.
    expect(contactSheet(cells.slice(0, 2), { columns: 8 }).width).toBe(2 * (4 * 2 + 20 * 6));
  });

  it("draws a meter filled to the given share and a note under each image, and a title on top", () => {
    const a = sampleExample(1, 0, { size: 16 }).image;
    const plain = contactSheet([{ label: "x", images: [a, a] }], { imageScale: 2, padding: 4 });
    const sheet = contactSheet(
      [{ label: "x", images: [a, a], imageMeters: [0.25, 1], imageNotes: ["25%", "100%"] }],
      { imageScale: 2, padding: 4, meterColour: [0, 255, 0], title: "model base" },
    );
    const titleHeight = 4 + 9 * 2;
    // A 5-px meter band (3 px + a 2-px gap) and a 9-px note line are added under the images.
    expect(sheet.height).toBe(plain.height + titleHeight + 5 + 9);
    const meterY = titleHeight + 4 + 9 + 32 + 2;
    const px = (x: number, y: number): number[] => [
      ...sheet.data.subarray((y * sheet.width + x) * 3, (y * sheet.width + x) * 3 + 3),
    ];
    // First image (x 4…35): filled on its first quarter (8 px), dim after.
    expect(px(4, meterY)).toEqual([0, 255, 0]);
    expect(px(11, meterY)).toEqual([0, 255, 0]);
    expect(px(12, meterY)).not.toEqual([0, 255, 0]);
    expect(px(35, meterY)).not.toEqual([0, 255, 0]);
    // Second image (x 40…71): filled across.
    expect(px(40, meterY)).toEqual([0, 255, 0]);
    expect(px(71, meterY)).toEqual([0, 255, 0]);
    // Ink in the note line and in the title band.
    const inkIn = (y0: number, y1: number): boolean => {
      for (let y = y0; y < y1; y++)
        for (let x = 0; x < sheet.width; x++) if (px(x, y)[0] === 235) return true;
      return false;
    };
    expect(inkIn(meterY + 3, sheet.height)).toBe(true);
    expect(inkIn(0, titleHeight)).toBe(true);
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
