import { inflateSync } from "node:zlib";

import { describe, expect, test } from "vitest";

import { crc32, decodePng, encodePng, type RgbImage } from "./png";

function gradient(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      data.set([(x * 37) & 255, (y * 91) & 255, (x * y * 13) & 255], (y * w + x) * 3);
  return { width: w, height: h, data };
}

describe("PNG", () => {
  test("crc32 matches the standard check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  test("round-trips through the decoder (signature, IHDR, CRCs, inflate, filters)", () => {
    for (const [w, h] of [
      [1, 1],
      [32, 32],
      [7, 3],
    ] as const) {
      const img = gradient(w, h);
      const png = encodePng(img);
      const back = decodePng(png);
      expect(back.width).toBe(w);
      expect(back.height).toBe(h);
      expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
    }
  });

  test("layout is what other decoders expect: IHDR first, RGB 8-bit, zlib stream inflates to rows+filter bytes", () => {
    const png = encodePng(gradient(4, 2));
    const dv = new DataView(png.buffer, png.byteOffset);
    expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    expect(String.fromCharCode(...png.subarray(12, 16))).toBe("IHDR");
    expect([dv.getUint32(16), dv.getUint32(20), png[24], png[25]]).toEqual([4, 2, 8, 2]);
    const idatLen = dv.getUint32(33);
    expect(String.fromCharCode(...png.subarray(37, 41))).toBe("IDAT");
    expect(inflateSync(png.subarray(41, 41 + idatLen)).length).toBe(2 * (4 * 3 + 1));
    expect(String.fromCharCode(...png.subarray(png.length - 8, png.length - 4))).toBe("IEND");
  });

  test("a flipped byte is caught by the CRC", () => {
    const png = encodePng(gradient(8, 8));
    png[45] = (png[45] ?? 0) ^ 0xff;
    expect(() => decodePng(png)).toThrow(/CRC mismatch/);
  });

  test("rejects data of the wrong length", () => {
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(11) })).toThrow(/expected 12/);
  });
});
