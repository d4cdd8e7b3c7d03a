/**
 * Geometry of one segmented object, rotation-invariant: filled area, centroid, hole ratio, the
 * normalised second moment J = 2π·Σρ²/A² (1 for a disc, larger for shapes with corners), and the
 * magnitudes of angular harmonics m_k = |Σ f·ρ²·e^{ikθ}| / Σ f·ρ² of the filled coverage f — a
 * square rings at k = 4, a triangle at k = 3, a star at k = 5, a disc at none.
 */
import { type Component } from "./segment";

export type ObjectGeometry = {
  /** Filled area in pixels (holes included). */
  area: number;
  /** Centroid in pixels (x right, y down). */
  cx: number;
  cy: number;
  /** Hole area / filled area (≈ 0.30 for a clean ring, 0 for solid shapes). */
  holeRatio: number;
  /** 2π·Σρ²/A², pixel-area corrected: 1 = disc, ≈ 1.05 square, ≈ 1.21 triangle, higher for stars. */
  spread: number;
  /** Angular harmonic magnitudes m_2 … m_6 (index 0 = k 2). */
  harmonics: readonly [number, number, number, number, number];
  /**
   * 1 − ink coverage at the centroid / 90th-percentile ink coverage: ≈ 1 for a ring, 0 for solid
   * shapes. Unlike the hole ratio it survives blur that fills a small ring's hole half-way.
   */
  centralDip: number;
};

/** Ink coverage at a sub-pixel point (pixel centres at +0.5), bilinear; outside the region counts 0. */
function inkAt(component: Component, width: number, x: number, y: number): number {
  const x0 = Math.floor(x - 0.5);
  const y0 = Math.floor(y - 0.5);
  const fx = x - 0.5 - x0;
  const fy = y - 0.5 - y0;
  const a = (xx: number, yy: number): number =>
    xx < 0 || xx >= width || yy < 0 ? 0 : (component.ink.get(yy * width + xx) ?? 0);
  return (
    (1 - fy) * ((1 - fx) * a(x0, y0) + fx * a(x0 + 1, y0)) +
    fy * ((1 - fx) * a(x0, y0 + 1) + fx * a(x0 + 1, y0 + 1))
  );
}

/** Geometry of a component's filled coverage map on a width-wide pixel grid. */
export function objectGeometry(component: Component, width: number): ObjectGeometry {
  let area = 0;
  let sx = 0;
  let sy = 0;
  for (const [i, f] of component.filled) {
    area += f;
    sx += f * ((i % width) + 0.5);
    sy += f * (Math.floor(i / width) + 0.5);
  }
  const safeArea = Math.max(area, 1e-9);
  const cx = sx / safeArea;
  const cy = sy / safeArea;
  let second = 0;
  const re = [0, 0, 0, 0, 0];
  const im = [0, 0, 0, 0, 0];
  for (const [i, f] of component.filled) {
    const dx = (i % width) + 0.5 - cx;
    const dy = Math.floor(i / width) + 0.5 - cy;
    const r2 = dx * dx + dy * dy;
    // A pixel of coverage f spreads its mass over a unit square: + f/6 to Σρ².
    second += f * (r2 + 1 / 6);
    const theta = Math.atan2(dy, dx);
    for (let k = 0; k < 5; k++) {
      re[k] = (re[k] ?? 0) + f * r2 * Math.cos((k + 2) * theta);
      im[k] = (im[k] ?? 0) + f * r2 * Math.sin((k + 2) * theta);
    }
  }
  const norm = Math.max(second, 1e-9);
  const h = (k: number): number => Math.hypot(re[k] ?? 0, im[k] ?? 0) / norm;
  const inks = [...component.ink.values()].sort((a, b) => a - b);
  const peak = inks[Math.floor(0.9 * (inks.length - 1))] ?? 0;
  return {
    centralDip: peak > 0 ? Math.max(0, 1 - inkAt(component, width, cx, cy) / peak) : 0,
    area,
    cx,
    cy,
    holeRatio: area > 0 ? Math.max(0, (area - component.inkArea) / area) : 0,
    spread: (2 * Math.PI * second) / (safeArea * safeArea),
    harmonics: [h(0), h(1), h(2), h(3), h(4)],
  };
}
