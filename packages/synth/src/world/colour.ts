/**
 * The named colours of the shapes world and a perceptual-ish colour space to compare them in.
 * Eight hues picked to stay distinct at 16 px after blur and noise; OKLab (Ottosson 2020) makes
 * "nearest named colour" agree with how a person would name the pixel.
 */

export const COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "white", "black"] as const;
export type Colour = (typeof COLOURS)[number];

export type Rgb = readonly [number, number, number];

/** sRGB 0…255 of each named colour, as the renderer paints it. */
export const COLOUR_RGB: Readonly<Record<Colour, Rgb>> = {
  red: [215, 38, 38],
  orange: [245, 135, 20],
  yellow: [245, 215, 35],
  green: [35, 160, 60],
  blue: [35, 85, 215],
  purple: [135, 55, 175],
  white: [240, 240, 240],
  black: [25, 25, 25],
};

export type Lab = readonly [number, number, number];

function srgbToLinear(c: number): number {
  const x = c / 255;
  return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
}

/** sRGB 0…255 → OKLab (L in 0…1, a/b roughly −0.4…0.4). */
export function rgbToOklab(r: number, g: number, b: number): Lab {
  const lr = srgbToLinear(r);
  const lg = srgbToLinear(g);
  const lb = srgbToLinear(b);
  const l = Math.cbrt(0.4122214708 * lr + 0.5363325363 * lg + 0.0514459929 * lb);
  const m = Math.cbrt(0.2119034982 * lr + 0.6806995451 * lg + 0.1073969566 * lb);
  const s = Math.cbrt(0.0883024619 * lr + 0.2817188376 * lg + 0.6299787005 * lb);
  return [
    0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  ];
}

/** Euclidean distance in OKLab (ΔE_ok; 0.02 is about a just-noticeable difference). */
export function oklabDistance(p: Lab, q: Lab): number {
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

const COLOUR_LAB: ReadonlyArray<readonly [Colour, Lab]> = COLOURS.map((c) => {
  const [r, g, b] = COLOUR_RGB[c];
  return [c, rgbToOklab(r, g, b)] as const;
});

/** Named colours ranked by OKLab distance to an sRGB colour, nearest first. */
export function rankColours(rgb: Rgb): Array<{ colour: Colour; distance: number }> {
  const lab = rgbToOklab(rgb[0], rgb[1], rgb[2]);
  return COLOUR_LAB.map(([colour, ref]) => ({ colour, distance: oklabDistance(lab, ref) })).sort(
    (x, y) => x.distance - y.distance,
  );
}

/** HSV saturation of an sRGB colour, 0…1. */
export function saturationOf(r: number, g: number, b: number): number {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  return max <= 0 ? 0 : (max - min) / max;
}
