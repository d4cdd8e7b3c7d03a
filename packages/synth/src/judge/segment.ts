/**
 * Figure/ground segmentation for the judge, knowing nothing about how the image was made:
 *
 * 1. Background: a plane a + b·u + c·v per channel (gradients are planes), fitted by trimmed
 *    least squares first to the border ring (objects touching it are outliers), then refitted
 *    to every pixel away from the first-pass objects. The residual spread of that fit is the
 *    noise level, and it includes any blotchiness of the background.
 * 2. Components: pixels further from the plane than a noise-aware threshold, 8-connected.
 *    Specks and faint blotches (no pixel clearly above the threshold) are "stray ink".
 * 3. Coverage: per component, the core colour O and each pixel's fractional coverage
 *    α = ⟨p − bg, O − bg⟩ / ‖O − bg‖², clamped to [0, 1]. Summing α measures area to a fraction
 *    of a pixel, which is what makes sizes and shapes readable at 16 px.
 * 4. Holes: pixels enclosed by a component (not reachable from outside its box) count as filled,
 *    so a ring's filled area matches a disc's and its hole ratio identifies it.
 */
import { at as checkedAt, type RgbImage } from "../image";
import { type Rgb } from "../world/colour";

// A module-local alias: transpilers (tsx, vitest) turn calls to an imported binding into a
// getter call each time, which dominates these per-pixel loops.
const at = checkedAt;

export type BackgroundFit = {
  /** Per channel [a, b, c]: colour(u, v) = a + b·u + c·v with u, v the pixel-centre fractions. */
  planes: readonly [
    readonly [number, number, number],
    readonly [number, number, number],
    readonly [number, number, number],
  ];
  /** Robust per-channel noise σ of the fit's residuals, 0…255 units. */
  noiseSigma: number;
};

export type Component = {
  /** Pixel indices (y·W + x) of the seed mask. */
  pixels: number[];
  /** Core colour O (median of the most distinct 30% of seed pixels), 0…255. */
  colour: Rgb;
  /** Filled coverage per pixel index: ink α, or 1 for pixels of an enclosed hole. */
  filled: Map<number, number>;
  /** Ink coverage α per pixel index (the region: seeds plus their 8-neighbours). */
  ink: Map<number, number>;
  /** Σ ink α. */
  inkArea: number;
  /** Σ filled coverage (ink + enclosed holes). */
  filledArea: number;
};

export type Segmentation = {
  width: number;
  height: number;
  background: BackgroundFit;
  /** Background estimate per pixel [H·W·3], 0…255. */
  backgroundImage: Float32Array;
  /** Components by filled area, largest first (specks removed). */
  components: Component[];
  /** Pixels in components that are not objects (specks, faint blotches). */
  strayPixels: number;
};

function solve3(m: number[][], r: number[]): [number, number, number] {
  // Cramer's rule on the 3×3 normal equations; the border geometry keeps them well conditioned.
  const g = (i: number, j: number): number => m[i]?.[j] ?? 0;
  const det = (a: number[][]): number => {
    const e = (i: number, j: number): number => a[i]?.[j] ?? 0;
    return (
      e(0, 0) * (e(1, 1) * e(2, 2) - e(1, 2) * e(2, 1)) -
      e(0, 1) * (e(1, 0) * e(2, 2) - e(1, 2) * e(2, 0)) +
      e(0, 2) * (e(1, 0) * e(2, 1) - e(1, 1) * e(2, 0))
    );
  };
  const base = [0, 1, 2].map((i) => [g(i, 0), g(i, 1), g(i, 2)]);
  const d = det(base);
  if (Math.abs(d) < 1e-12) return [r[0] ?? 0, 0, 0];
  const col = (k: number): number =>
    det(base.map((row, i) => row.map((v, j) => (j === k ? (r[i] ?? 0) : v))));
  return [col(0) / d, col(1) / d, col(2) / d];
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/**
 * Fits a background plane per channel to `pixels` by trimmed least squares: four rounds, each
 * refitting to the best-fitting `keepFraction` of them (objects among them are outliers,
 * whatever their colour). The noise σ is the per-channel residual MAD over the same share.
 */
function fitPlane(image: RgbImage, pixels: readonly number[], keepFraction: number): BackgroundFit {
  const { width: w, height: h, data } = image;
  const n = pixels.length;
  // Per-pixel coordinates and colours in flat typed arrays: this runs twice per judged image.
  const us = new Float64Array(n);
  const vs = new Float64Array(n);
  const cs = new Float64Array(n * 3);
  pixels.forEach((i, k) => {
    us[k] = ((i % w) + 0.5) / w;
    vs[k] = (Math.floor(i / w) + 0.5) / h;
    for (let ch = 0; ch < 3; ch++) cs[k * 3 + ch] = at(data, i * 3 + ch);
  });
  let keep = new Uint8Array(n).fill(1);
  let planes: Array<[number, number, number]> = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const residuals = new Float64Array(n);
  for (let iter = 0; iter < 4; iter++) {
    // Normal equations of colour = a + b·u + c·v over the kept pixels.
    let s1 = 0;
    let su = 0;
    let sv = 0;
    let suu = 0;
    let suv = 0;
    let svv = 0;
    const sc = [0, 0, 0];
    const scu = [0, 0, 0];
    const scv = [0, 0, 0];
    for (let k = 0; k < n; k++) {
      if (keep[k] === 0) continue;
      const u = at(us, k);
      const v = at(vs, k);
      s1 += 1;
      su += u;
      sv += v;
      suu += u * u;
      suv += u * v;
      svv += v * v;
      for (let ch = 0; ch < 3; ch++) {
        const c = at(cs, k * 3 + ch);
        sc[ch] = at(sc, ch) + c;
        scu[ch] = at(scu, ch) + c * u;
        scv[ch] = at(scv, ch) + c * v;
      }
    }
    const m = [
      [s1, su, sv],
      [su, suu, suv],
      [sv, suv, svv],
    ];
    planes = [0, 1, 2].map((ch) => solve3(m, [at(sc, ch), at(scu, ch), at(scv, ch)]));
    const [p0, p1, p2] = planes;
    for (let k = 0; k < n; k++) {
      const u = at(us, k);
      const v = at(vs, k);
      let r2 = 0;
      for (const [ch, p] of [p0, p1, p2].entries()) {
        const q = p ?? [0, 0, 0];
        r2 += (at(cs, k * 3 + ch) - (q[0] + q[1] * u + q[2] * v)) ** 2;
      }
      residuals[k] = Math.sqrt(r2);
    }
    const cutoff = at(
      Float64Array.from(residuals).sort(),
      Math.min(n - 1, Math.max(2, Math.ceil(n * keepFraction) - 1)),
    );
    keep = Uint8Array.from(residuals, (r) => (r <= cutoff ? 1 : 0));
  }
  const resid: number[] = [];
  for (let k = 0; k < n; k++) {
    if (keep[k] === 0) continue;
    for (let ch = 0; ch < 3; ch++) {
      const p = planes[ch] ?? [0, 0, 0];
      resid.push(Math.abs(at(cs, k * 3 + ch) - (p[0] + p[1] * at(us, k) + p[2] * at(vs, k))));
    }
  }
  // MAD over a trimmed set underestimates σ; for Gaussian noise trimmed to a share q, the
  // median absolute residual of what remains is the q/2 quantile of |N(0, σ²)|.
  const z = Math.SQRT2 * inverseErf(keepFraction / 2);
  const [p0, p1, p2] = planes;
  return {
    planes: [p0 ?? [0, 0, 0], p1 ?? [0, 0, 0], p2 ?? [0, 0, 0]],
    noiseSigma: z > 0 ? median(resid) / z : 0,
  };
}

/** erf⁻¹ by bisection (only called twice per image, so simplicity beats speed). */
function inverseErf(y: number): number {
  const erf = (x: number): number => {
    // Abramowitz–Stegun 7.1.26, |error| < 1.5e-7.
    const t = 1 / (1 + 0.3275911 * Math.abs(x));
    const e =
      1 -
      ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
        t *
        Math.exp(-x * x);
    return x >= 0 ? e : -e;
  };
  let lo = 0;
  let hi = 6;
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    if (erf(mid) < y) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Fits the background plane to the border ring (width ≈ side/16 px), the first estimate. */
export function fitBackground(image: RgbImage): BackgroundFit {
  const { width: w, height: h } = image;
  const ring = Math.max(1, Math.round(Math.min(w, h) / 16));
  const border: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (x < ring || y < ring || x >= w - ring || y >= h - ring) border.push(y * w + x);
  return fitPlane(image, border, 0.65);
}

const NEIGHBOURS_8: ReadonlyArray<readonly [number, number]> = [
  [-1, -1],
  [0, -1],
  [1, -1],
  [-1, 0],
  [1, 0],
  [-1, 1],
  [0, 1],
  [1, 1],
];

/** Background estimate per pixel and each pixel's RGB distance from it. */
function residualMaps(
  image: RgbImage,
  background: BackgroundFit,
): { bgImage: Float32Array; diff: Float32Array } {
  const { width: w, height: h, data } = image;
  const n = w * h;
  const bgImage = new Float32Array(n * 3);
  const diff = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = ((i % w) + 0.5) / w;
    const v = (Math.floor(i / w) + 0.5) / h;
    let s = 0;
    for (let ch = 0; ch < 3; ch++) {
      const p = background.planes[ch] ?? ([0, 0, 0] as const);
      const b = p[0] + p[1] * u + p[2] * v;
      bgImage[i * 3 + ch] = b;
      s += (at(data, i * 3 + ch) - b) ** 2;
    }
    diff[i] = Math.sqrt(s);
  }
  return { bgImage, diff };
}

/** Minimum RGB distance from the background for a pixel to join a component. */
const MIN_THRESHOLD = 18;
/** How far above the join threshold a component's strongest pixel must be to count as an object, not a blotch. */
const OBJECT_MARGIN = 18;

/** 8-connected components of pixels with diff > threshold; label[i] = component index or −1. */
function components(
  diff: Float32Array,
  w: number,
  h: number,
  threshold: number,
): { label: Int32Array; seeds: number[][] } {
  const n = w * h;
  const label = new Int32Array(n).fill(-1);
  const seeds: number[][] = [];
  for (let i = 0; i < n; i++) {
    if (label[i] !== -1 || at(diff, i) <= threshold) continue;
    const id = seeds.length;
    const stack = [i];
    const pixels: number[] = [];
    label[i] = id;
    while (stack.length > 0) {
      const j = stack.pop() ?? 0;
      pixels.push(j);
      const x = j % w;
      const y = Math.floor(j / w);
      for (const [dx, dy] of NEIGHBOURS_8) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
        const k = yy * w + xx;
        if (label[k] === -1 && at(diff, k) > threshold) {
          label[k] = id;
          stack.push(k);
        }
      }
    }
    seeds.push(pixels);
  }
  return { label, seeds };
}

/** Segments an image into background plane and object components (see module header). */
export function segment(image: RgbImage): Segmentation {
  const { width: w, height: h } = image;
  const n = w * h;
  // Pass 1 fits the border only; pass 2 refits to every pixel away from the pass-1 components,
  // which tracks the real background (and its blotches) far better than a thin ring.
  let background = fitBackground(image);
  let maps = residualMaps(image, background);
  const first = components(maps.diff, w, h, Math.max(MIN_THRESHOLD, 4.5 * background.noiseSigma));
  const nearObject = new Uint8Array(n);
  for (const pixels of first.seeds) {
    for (const j of pixels) {
      const x = j % w;
      const y = Math.floor(j / w);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < w && yy < h) nearObject[yy * w + xx] = 1;
        }
    }
  }
  const open: number[] = [];
  for (let i = 0; i < n; i++) if (nearObject[i] === 0) open.push(i);
  if (open.length >= 0.25 * n) {
    background = fitPlane(image, open, 0.9);
    maps = residualMaps(image, background);
  }
  const { bgImage, diff } = maps;
  // A chi(3) variable exceeds 4.5σ with probability < 1e-3, so noise alone seldom seeds a pixel.
  const threshold = Math.max(MIN_THRESHOLD, 4.5 * background.noiseSigma);
  const { label, seeds } = components(diff, w, h, threshold);
  // Specks below ~0.3% of the image (≥ 2 px), and faint blotches with no pixel clearly off the
  // background, are stray ink, not objects.
  const minPixels = Math.max(2, Math.round(0.003 * n));
  let strayPixels = 0;
  const found: Component[] = [];
  seeds.forEach((pixels, id) => {
    const peak = pixels.reduce((m, i) => Math.max(m, at(diff, i)), 0);
    if (pixels.length < minPixels || peak < threshold + OBJECT_MARGIN) {
      strayPixels += pixels.length;
      return;
    }
    found.push(measureComponent(image, bgImage, diff, label, id, pixels));
  });
  found.sort((a, b) => b.filledArea - a.filledArea);
  return { width: w, height: h, background, backgroundImage: bgImage, components: found, strayPixels };
}

function measureComponent(
  image: RgbImage,
  bgImage: Float32Array,
  diff: Float32Array,
  label: Int32Array,
  id: number,
  pixels: number[],
): Component {
  const { width: w, height: h, data } = image;
  const byDiff = [...pixels].sort((a, b) => at(diff, b) - at(diff, a));
  const core = byDiff.slice(0, Math.max(1, Math.ceil(byDiff.length * 0.3)));
  const colour: Rgb = [0, 1, 2].map((ch) => median(core.map((i) => at(data, i * 3 + ch)))) as unknown as Rgb;
  // Region = seeds plus their 8-neighbours not claimed by another component (the faint fringe).
  const region = new Set(pixels);
  for (const j of pixels) {
    const x = j % w;
    const y = Math.floor(j / w);
    for (const [dx, dy] of NEIGHBOURS_8) {
      const xx = x + dx;
      const yy = y + dy;
      if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
      const k = yy * w + xx;
      if (label[k] === -1 || label[k] === id) region.add(k);
    }
  }
  const ink = new Map<number, number>();
  let inkArea = 0;
  let minX = w;
  let minY = h;
  let maxX = -1;
  let maxY = -1;
  for (const i of region) {
    let dot = 0;
    let norm = 0;
    for (let ch = 0; ch < 3; ch++) {
      const b = at(bgImage, i * 3 + ch);
      const o = at(colour, ch) - b;
      dot += (at(data, i * 3 + ch) - b) * o;
      norm += o * o;
    }
    const alpha = norm > 0 ? Math.min(1, Math.max(0, dot / norm)) : 0;
    ink.set(i, alpha);
    inkArea += alpha;
    const x = i % w;
    const y = Math.floor(i / w);
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  // Holes: flood the bounding box (1 px margin) from its edge through pixels with α < 0.5.
  const bx0 = minX - 1;
  const by0 = minY - 1;
  const bw = maxX - minX + 3;
  const bh = maxY - minY + 3;
  const isSolid = (x: number, y: number): boolean => {
    if (x < 0 || y < 0 || x >= w || y >= h) return false;
    return (ink.get(y * w + x) ?? 0) >= 0.5;
  };
  const outside = new Uint8Array(bw * bh);
  const stack: number[] = [];
  for (let y = 0; y < bh; y++)
    for (let x = 0; x < bw; x++)
      if ((x === 0 || y === 0 || x === bw - 1 || y === bh - 1) && !isSolid(bx0 + x, by0 + y)) {
        outside[y * bw + x] = 1;
        stack.push(y * bw + x);
      }
  while (stack.length > 0) {
    const j = stack.pop() ?? 0;
    const x = j % bw;
    const y = Math.floor(j / bw);
    for (const [dx, dy] of [
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
    ] as const) {
      const xx = x + dx;
      const yy = y + dy;
      if (xx < 0 || yy < 0 || xx >= bw || yy >= bh) continue;
      const k = yy * bw + xx;
      if (outside[k] === 0 && !isSolid(bx0 + xx, by0 + yy)) {
        outside[k] = 1;
        stack.push(k);
      }
    }
  }
  const filled = new Map(ink);
  let filledArea = inkArea;
  for (let y = 1; y < bh - 1; y++) {
    for (let x = 1; x < bw - 1; x++) {
      if (outside[y * bw + x] === 1 || isSolid(bx0 + x, by0 + y)) continue;
      const i = (by0 + y) * w + (bx0 + x);
      const a = ink.get(i) ?? 0;
      filled.set(i, 1);
      filledArea += 1 - a;
    }
  }
  return { pixels, colour, filled, ink, inkArea, filledArea };
}
