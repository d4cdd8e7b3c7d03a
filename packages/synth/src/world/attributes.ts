/**
 * The attribute vocabulary of the shapes world and its geometry: which shapes, sizes, positions
 * and background styles exist, how big each size is and where each position sits. The renderer
 * and the judge both read these numbers, so "large" or "top left" means one thing everywhere.
 */
import { COLOURS, type Colour } from "./colour";

export { COLOURS, type Colour };

export const SHAPES = ["circle", "square", "triangle", "ring", "star"] as const;
export type Shape = (typeof SHAPES)[number];

export const SIZES = ["small", "medium", "large"] as const;
export type Size = (typeof SIZES)[number];

export const POSITIONS = [
  "centre",
  "top left",
  "top right",
  "bottom left",
  "bottom right",
  "top",
  "bottom",
  "left",
  "right",
] as const;
export type Position = (typeof POSITIONS)[number];

export const BACKGROUND_STYLES = ["solid", "gradient"] as const;
export type BackgroundStyle = (typeof BACKGROUND_STYLES)[number];

/**
 * Equivalent radius √(filled area / π) of each size, as a fraction of the image side. Every shape
 * of a size covers the same filled area (a ring counts its hole), so size reads from area alone.
 */
export const SIZE_RADIUS: Readonly<Record<Size, number>> = { small: 0.1, medium: 0.155, large: 0.22 };

/** Equivalent-radius boundaries between sizes: geometric means of neighbouring SIZE_RADIUS values. */
export const SIZE_BOUNDARIES = [Math.sqrt(0.1 * 0.155), Math.sqrt(0.155 * 0.22)] as const;

/** Centroid coordinates (fractions of the side) below/above which a position counts as left/top or right/bottom. */
export const POSITION_BOUNDARIES = [0.42, 0.58] as const;

/** Horizontal and vertical thirds of a position: −1 = left/top, 0 = middle, 1 = right/bottom. */
export const POSITION_AXES: Readonly<Record<Position, readonly [number, number]>> = {
  centre: [0, 0],
  "top left": [-1, -1],
  "top right": [1, -1],
  "bottom left": [-1, 1],
  "bottom right": [1, 1],
  top: [0, -1],
  bottom: [0, 1],
  left: [-1, 0],
  right: [1, 0],
};

/** The position whose axes are (h, v), each in {−1, 0, 1}. */
export function positionFromAxes(h: number, v: number): Position {
  for (const p of POSITIONS) {
    const [ph, pv] = POSITION_AXES[p];
    if (ph === h && pv === v) return p;
  }
  throw new RangeError(`no position for axes (${h}, ${v})`);
}

/** Size class of an equivalent radius (fraction of the side). */
export function sizeFromRadius(radius: number): Size {
  return radius < SIZE_BOUNDARIES[0] ? "small" : radius < SIZE_BOUNDARIES[1] ? "medium" : "large";
}

/** Position class of a centroid (fractions of the side). */
export function positionFromCentroid(x: number, y: number): Position {
  const axis = (c: number): number => (c < POSITION_BOUNDARIES[0] ? -1 : c > POSITION_BOUNDARIES[1] ? 1 : 0);
  return positionFromAxes(axis(x), axis(y));
}

/** Ring hole radius as a fraction of its outer radius. */
export const RING_INNER_RATIO = 0.55;
/** Star inner (valley) radius as a fraction of its tip radius. */
export const STAR_INNER_RATIO = 0.5;

/**
 * Outline of a shape with equivalent radius 1, centred on its area centroid, rotated by
 * `rotation` radians, in image orientation (y grows downward; unrotated triangles and stars point up).
 * Circles and rings return null (they are drawn analytically).
 */
export function shapePolygon(shape: Shape, rotation: number): Array<readonly [number, number]> | null {
  const regular = (n: number, radius: number): Array<readonly [number, number]> =>
    Array.from({ length: n }, (_, i) => {
      const a = -Math.PI / 2 + rotation + (2 * Math.PI * i) / n;
      return [radius * Math.cos(a), radius * Math.sin(a)] as const;
    });
  switch (shape) {
    case "circle":
    case "ring":
      return null;
    case "square":
      // Half-side √π/2 gives area π; the −π/4 offset makes the unrotated square axis-aligned.
      return regular(4, Math.sqrt(Math.PI / 2)).map(([x, y]) => {
        const c = Math.cos(Math.PI / 4);
        const s = Math.sin(Math.PI / 4);
        return [x * c - y * s, x * s + y * c] as const;
      });
    case "triangle":
      // Equilateral with area π: circumradius √(4π / 3√3).
      return regular(3, Math.sqrt((4 * Math.PI) / (3 * Math.sqrt(3))));
    case "star": {
      // Ten vertices alternating tip R and valley kR; area 5·k·R²·sin 36° = π.
      const tip = Math.sqrt(Math.PI / (5 * STAR_INNER_RATIO * Math.sin(Math.PI / 5)));
      return Array.from({ length: 10 }, (_, i) => {
        const a = -Math.PI / 2 + rotation + (Math.PI * i) / 5;
        const r = i % 2 === 0 ? tip : tip * STAR_INNER_RATIO;
        return [r * Math.cos(a), r * Math.sin(a)] as const;
      });
    }
  }
}

/** Extents of a shape (equivalent radius 1) from its centroid: [left, right, up, down]. */
export function shapeExtents(shape: Shape, rotation: number): readonly [number, number, number, number] {
  const poly = shapePolygon(shape, rotation);
  if (poly === null) return [1, 1, 1, 1];
  let [l, r, u, d] = [0, 0, 0, 0];
  for (const [x, y] of poly) {
    l = Math.max(l, -x);
    r = Math.max(r, x);
    u = Math.max(u, -y);
    d = Math.max(d, y);
  }
  return [l, r, u, d];
}

/** Gap kept between a shape at an edge position and the image border, as a fraction of the side. */
export const EDGE_MARGIN = 0.03;
/** Centroid coordinate of edge positions when the shape is small enough to sit there. */
export const EDGE_ANCHOR = 0.27;

/** Centroid (fractions of the side) where a shape of a given size sits at a position, before jitter. */
export function positionAnchor(
  position: Position,
  shape: Shape,
  radius: number,
  rotation: number,
): readonly [number, number] {
  const [h, v] = POSITION_AXES[position];
  const [l, r, u, d] = shapeExtents(shape, rotation);
  const x =
    h < 0
      ? Math.max(EDGE_ANCHOR, EDGE_MARGIN + l * radius)
      : h > 0
        ? Math.min(1 - EDGE_ANCHOR, 1 - EDGE_MARGIN - r * radius)
        : 0.5;
  const y =
    v < 0
      ? Math.max(EDGE_ANCHOR, EDGE_MARGIN + u * radius)
      : v > 0
        ? Math.min(1 - EDGE_ANCHOR, 1 - EDGE_MARGIN - d * radius)
        : 0.5;
  return [x, y];
}
