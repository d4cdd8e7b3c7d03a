/**
 * Contact sheets: rows of images under a text label (a prompt, a score), composed into one RGB8
 * image for a person to look at — what the eval command writes next to its JSON. Text is drawn
 * with a built-in 5×7 bitmap font (upper-case glyphs, digits, a little punctuation), so this
 * stays pure compute; encode the result with any PNG writer (packages/serving has one).
 */
import { at, createImage, type RgbImage } from "./image";
import { type Rgb } from "./world/colour";

const GLYPH_W = 5;
const GLYPH_H = 7;

/** 5×7 glyphs, one string of 7 five-bit rows per character; lower case maps to upper case. */
const GLYPHS: Readonly<Record<string, readonly string[]>> = {
  A: ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
  B: ["11110", "10001", "10001", "11110", "10001", "10001", "11110"],
  C: ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
  D: ["11110", "10001", "10001", "10001", "10001", "10001", "11110"],
  E: ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
  F: ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
  G: ["01110", "10001", "10000", "10111", "10001", "10001", "01111"],
  H: ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
  I: ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
  J: ["00111", "00010", "00010", "00010", "00010", "10010", "01100"],
  K: ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
  L: ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
  M: ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
  N: ["10001", "10001", "11001", "10101", "10011", "10001", "10001"],
  O: ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
  P: ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
  Q: ["01110", "10001", "10001", "10001", "10101", "10010", "01101"],
  R: ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
  S: ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
  T: ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
  U: ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
  V: ["10001", "10001", "10001", "10001", "10001", "01010", "00100"],
  W: ["10001", "10001", "10001", "10101", "10101", "10101", "01010"],
  X: ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
  Y: ["10001", "10001", "01010", "00100", "00100", "00100", "00100"],
  Z: ["11111", "00001", "00010", "00100", "01000", "10000", "11111"],
  "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
  "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
  "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
  "3": ["11111", "00010", "00100", "00010", "00001", "10001", "01110"],
  "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
  "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
  "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
  "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
  "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
  "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
  ".": ["00000", "00000", "00000", "00000", "00000", "01100", "01100"],
  ",": ["00000", "00000", "00000", "00000", "01100", "00100", "01000"],
  ":": ["00000", "01100", "01100", "00000", "01100", "01100", "00000"],
  "-": ["00000", "00000", "00000", "11111", "00000", "00000", "00000"],
  "%": ["11000", "11001", "00010", "00100", "01000", "10011", "00011"],
  "/": ["00000", "00001", "00010", "00100", "01000", "10000", "00000"],
  "=": ["00000", "00000", "11111", "00000", "11111", "00000", "00000"],
  "(": ["00010", "00100", "01000", "01000", "01000", "00100", "00010"],
  ")": ["01000", "00100", "00010", "00010", "00010", "00100", "01000"],
  "?": ["01110", "10001", "00001", "00010", "00100", "00000", "00100"],
  " ": ["00000", "00000", "00000", "00000", "00000", "00000", "00000"],
};

function glyph(ch: string): readonly string[] {
  return GLYPHS[ch.toUpperCase()] ?? GLYPHS["?"] ?? [];
}

function setPixel(img: RgbImage, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const i = (y * img.width + x) * 3;
  img.data[i] = c[0];
  img.data[i + 1] = c[1];
  img.data[i + 2] = c[2];
}

/** Draws `text` on one line at (x, y) (top-left), each font pixel a scale × scale block; returns the width used. */
export function drawText(img: RgbImage, text: string, x: number, y: number, colour: Rgb, scale = 1): number {
  let cx = x;
  for (const ch of text) {
    const rows = glyph(ch);
    rows.forEach((row, gy) => {
      for (let gx = 0; gx < GLYPH_W; gx++) {
        if (row[gx] !== "1") continue;
        for (let sy = 0; sy < scale; sy++)
          for (let sx = 0; sx < scale; sx++) setPixel(img, cx + gx * scale + sx, y + gy * scale + sy, colour);
      }
    });
    cx += (GLYPH_W + 1) * scale;
  }
  return cx - x;
}

/** Greedy word wrap to at most `maxChars` characters per line (longer words are cut). */
export function wrapText(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    const candidate = line.length === 0 ? word : `${line} ${word}`;
    if (candidate.length <= maxChars) line = candidate;
    else {
      if (line.length > 0) lines.push(line);
      line = word.slice(0, Math.max(1, maxChars));
    }
  }
  if (line.length > 0) lines.push(line);
  return lines.length === 0 ? [""] : lines;
}

export type ContactSheetRow = {
  label: string;
  images: readonly RgbImage[];
  /** Optional short text under each image (clipped to the image's width), e.g. a score. */
  imageNotes?: readonly string[];
  /** Optional bar under each image, filled to the given share of its width (0…1), e.g. P(like). */
  imageMeters?: readonly number[];
};

export type ContactSheetOptions = {
  /** Integer upscale of the images (nearest neighbour); default 4. */
  imageScale?: number;
  /** Integer scale of the 5×7 font; default 1. */
  textScale?: number;
  /** Gap between images and around rows, in output pixels; default 4. */
  padding?: number;
  /** Cells (a label and its images) per line of the sheet, filled left to right; default 1. */
  columns?: number;
  /** A heading across the top of the sheet (word-wrapped, font at twice textScale). */
  title?: string;
  background?: Rgb;
  textColour?: Rgb;
  /** Colour of the filled part of image meters; the rest is drawn dim. */
  meterColour?: Rgb;
};

const METER_HEIGHT = 3;

function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, c: Rgb): void {
  for (let py = y; py < y + h; py++) for (let px = x; px < x + w; px++) setPixel(img, px, py, c);
}

/**
 * A grid of cells, each a (word-wrapped) label over its images placed left to right at
 * `imageScale`, optionally with a short note and a meter under each image; `columns` cells per
 * line of the sheet. Every cell is as wide as the widest; every line as tall as its tallest cell.
 */
export function contactSheet(rows: readonly ContactSheetRow[], options: ContactSheetOptions = {}): RgbImage {
  const scale = Math.max(1, Math.floor(options.imageScale ?? 4));
  const textScale = Math.max(1, Math.floor(options.textScale ?? 1));
  const pad = Math.max(0, Math.floor(options.padding ?? 4));
  const columns = Math.max(1, Math.min(Math.floor(options.columns ?? 1), Math.max(1, rows.length)));
  const bg = options.background ?? [24, 24, 24];
  const ink = options.textColour ?? [235, 235, 235];
  const meterInk = options.meterColour ?? [90, 200, 110];
  const meterDim: Rgb = [
    Math.round((bg[0] * 2 + meterInk[0]) / 3),
    Math.round((bg[1] * 2 + meterInk[1]) / 3),
    Math.round((bg[2] * 2 + meterInk[2]) / 3),
  ];
  const charW = (GLYPH_W + 1) * textScale;
  const lineHeight = (GLYPH_H + 2) * textScale;
  const imagesWidth = (r: ContactSheetRow): number =>
    r.images.reduce((w, im) => w + im.width * scale + pad, pad);
  const cellWidth = Math.max(pad * 2 + 20 * charW, ...rows.map(imagesWidth));
  const maxChars = Math.max(1, Math.floor((cellWidth - 2 * pad) / charW));
  const cells = rows.map((r) => {
    const lines = wrapText(r.label, maxChars);
    const imageHeight = Math.max(0, ...r.images.map((im) => im.height * scale));
    const notes = r.imageNotes !== undefined && r.imageNotes.some((n) => n.length > 0) ? lineHeight : 0;
    const meters = r.imageMeters !== undefined && r.imageMeters.length > 0 ? METER_HEIGHT + 2 : 0;
    return {
      row: r,
      lines,
      imageHeight,
      height: pad + lines.length * lineHeight + imageHeight + meters + notes + pad,
    };
  });
  const gridLines: (typeof cells)[] = [];
  for (let i = 0; i < cells.length; i += columns) gridLines.push(cells.slice(i, i + columns));
  const lineHeights = gridLines.map((l) => Math.max(...l.map((c) => c.height)));
  const width = columns * cellWidth;
  const titleScale = textScale * 2;
  const titleLines =
    options.title === undefined
      ? []
      : wrapText(options.title, Math.max(1, Math.floor((width - 2 * pad) / ((GLYPH_W + 1) * titleScale))));
  const titleHeight = titleLines.length === 0 ? 0 : pad + titleLines.length * (GLYPH_H + 2) * titleScale;
  const height = Math.max(1, titleHeight + lineHeights.reduce((h, x) => h + x, 0));
  const sheet = createImage(width, height);
  for (let i = 0; i < width * height; i++) sheet.data.set(bg, i * 3);
  titleLines.forEach((line, k) =>
    drawText(sheet, line, pad, pad + k * (GLYPH_H + 2) * titleScale, ink, titleScale),
  );
  let y = titleHeight;
  gridLines.forEach((gridLine, li) => {
    gridLine.forEach(({ row, lines, imageHeight }, ci) => {
      const x0 = ci * cellWidth;
      lines.forEach((line, k) => drawText(sheet, line, x0 + pad, y + pad + k * lineHeight, ink, textScale));
      let x = x0 + pad;
      const top = y + pad + lines.length * lineHeight;
      row.images.forEach((im, n) => {
        const w = im.width * scale;
        for (let py = 0; py < im.height * scale; py++) {
          for (let px = 0; px < w; px++) {
            const si = (Math.floor(py / scale) * im.width + Math.floor(px / scale)) * 3;
            setPixel(sheet, x + px, top + py, [at(im.data, si), at(im.data, si + 1), at(im.data, si + 2)]);
          }
        }
        let below = top + imageHeight;
        if (row.imageMeters !== undefined && row.imageMeters.length > 0) {
          const v = row.imageMeters[n];
          if (v !== undefined && Number.isFinite(v)) {
            const filled = Math.round(Math.min(1, Math.max(0, v)) * w);
            fillRect(sheet, x, below + 2, w, METER_HEIGHT, meterDim);
            fillRect(sheet, x, below + 2, filled, METER_HEIGHT, meterInk);
          }
          below += METER_HEIGHT + 2;
        }
        const note = row.imageNotes?.[n];
        if (note !== undefined && note.length > 0) {
          const fits = Math.max(1, Math.floor((w + textScale) / charW));
          drawText(sheet, note.slice(0, fits), x, below + textScale, ink, textScale);
        }
        x += w + pad;
      });
    });
    y += lineHeights[li] ?? 0;
  });
  return sheet;
}
