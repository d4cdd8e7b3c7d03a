/**
 * The renderer: scene → RGB8 image, anti-aliased by supersampling (ss × ss samples per pixel on
 * a regular grid, box-filtered). Shapes are exact geometry (analytic discs, polygons), so edges
 * are as sharp as the pixel grid allows — the "clean" end of the world that flaws degrade.
 */
import { at, quantize, type RgbImage } from "../image";
import { RING_INNER_RATIO, shapePolygon } from "./attributes";
import { COLOUR_RGB, type Rgb } from "./colour";
import { type Scene, type SceneBackground, type SceneObject } from "./scene";

/** Darkest and lightest shade of a gradient background, as fractions toward black and white. */
const GRADIENT_DARKEN = 0.2;
const GRADIENT_LIGHTEN = 0.2;

/** Background colour at (u, v) ∈ [0, 1]² (fractions of the side). */
export function backgroundAt(bg: SceneBackground, u: number, v: number): Rgb {
  const c = COLOUR_RGB[bg.colour];
  if (bg.style === "solid") return c;
  let t = bg.direction === "vertical" ? v : u;
  if (bg.isReversed) t = 1 - t;
  const shade = (x: number): number => {
    const dark = x * (1 - GRADIENT_DARKEN);
    const light = x + (255 - x) * GRADIENT_LIGHTEN;
    return dark + (light - dark) * t;
  };
  return [shade(c[0]), shade(c[1]), shade(c[2])];
}

type Painter = {
  colour: Rgb;
  bound: number;
  isInside: (dx: number, dy: number) => boolean;
  obj: SceneObject;
};

/** Even–odd point-in-polygon test (stars are not convex). */
function insidePolygon(poly: ReadonlyArray<readonly [number, number]>, x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i];
    const b = poly[j];
    if (a === undefined || b === undefined) continue;
    if (a[1] > y !== b[1] > y && x < ((b[0] - a[0]) * (y - a[1])) / (b[1] - a[1]) + a[0]) inside = !inside;
  }
  return inside;
}

function painterFor(obj: SceneObject): Painter {
  const colour = COLOUR_RGB[obj.colour];
  const poly = shapePolygon(obj.shape, obj.rotation);
  if (poly === null) {
    const inner2 = obj.shape === "ring" ? RING_INNER_RATIO * RING_INNER_RATIO : -1;
    return {
      colour,
      obj,
      bound: 1,
      isInside: (dx, dy) => {
        const d2 = dx * dx + dy * dy;
        return d2 <= 1 && d2 >= inner2;
      },
    };
  }
  const bound = Math.max(...poly.map(([x, y]) => Math.hypot(x, y)));
  return { colour, obj, bound, isInside: (dx, dy) => insidePolygon(poly, dx, dy) };
}

/** Scene → float [H, W, 3] in 0…255 (unquantised, so flaws can be applied before rounding). */
export function renderSceneFloat(scene: Scene, size: number, supersample = 4): Float32Array {
  const out = new Float32Array(size * size * 3);
  const painters = scene.objects.map(painterFor);
  const ss = Math.max(1, Math.floor(supersample));
  const inv = 1 / (ss * ss);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      // Objects that may touch this pixel (bounding-disc test), so most samples skip the geometry.
      const cx = (px + 0.5) / size;
      const cy = (py + 0.5) / size;
      const near = painters.filter(
        (p) => Math.hypot(cx - p.obj.x, cy - p.obj.y) <= p.bound * p.obj.radius + 1 / size,
      );
      const i = (py * size + px) * 3;
      if (near.length === 0) {
        // Background only: the shade is linear in (u, v), so the mean of the samples is its value at the centre.
        const c = backgroundAt(scene.background, cx, cy);
        out[i] = c[0];
        out[i + 1] = c[1];
        out[i + 2] = c[2];
        continue;
      }
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const u = (px + (sx + 0.5) / ss) / size;
          const v = (py + (sy + 0.5) / ss) / size;
          let c = backgroundAt(scene.background, u, v);
          for (const p of near) {
            if (p.isInside((u - p.obj.x) / p.obj.radius, (v - p.obj.y) / p.obj.radius)) c = p.colour;
          }
          r += c[0];
          g += c[1];
          b += c[2];
        }
      }
      out[i] = r * inv;
      out[i + 1] = g * inv;
      out[i + 2] = b * inv;
    }
  }
  return out;
}

/** Scene → RGB8 image of size × size, anti-aliased with ss × ss supersampling (default 4). */
export function renderScene(scene: Scene, size: number, supersample = 4): RgbImage {
  return quantize(renderSceneFloat(scene, size, supersample), size, size);
}

/** Mean colour of a float buffer's pixels (used by flaws that pull toward the image mean). */
export function meanColour(values: Float32Array): Rgb {
  let r = 0;
  let g = 0;
  let b = 0;
  const n = values.length / 3;
  for (let i = 0; i < values.length; i += 3) {
    r += at(values, i);
    g += at(values, i + 1);
    b += at(values, i + 2);
  }
  return [r / n, g / n, b / n];
}
