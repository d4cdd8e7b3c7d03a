/**
 * A small rasteriser for the toy experiment's figure (Li et al. 2024, Fig. 6): 2-D samples as
 * alpha-blended dots over the 1 σ circles of the desirable (green) and undesirable (red) modes and the
 * 3 σ support of the pretraining distribution (grey). Pure: returns RGB bytes (encode with any PNG writer).
 */
import { TOY_DISTRIBUTIONS } from "./toy-experiment";

export type RgbBytes = { width: number; height: number; data: Uint8Array };

export type ScatterOptions = {
  /** Image side in px. */
  readonly size?: number;
  /** Data window [xmin, xmax] × [ymin, ymax]. */
  readonly window?: readonly [number, number, number, number];
};

/** points float32 [n·2] (data coordinates) → a size×size RGB image. */
export function scatterPlot(points: Float32Array, o: ScatterOptions = {}): RgbBytes {
  const size = o.size ?? 320;
  const [x0, x1, y0, y1] = o.window ?? [-0.1, 1.1, 0.2, 1.4];
  const data = new Uint8Array(size * size * 3).fill(255);
  const px = (x: number) => ((x - x0) / (x1 - x0)) * (size - 1);
  const py = (y: number) => (1 - (y - y0) / (y1 - y0)) * (size - 1); // y up
  const blend = (i: number, j: number, rgb: readonly number[], a: number) => {
    if (i < 0 || j < 0 || i >= size || j >= size) return;
    const k = (j * size + i) * 3;
    for (let c = 0; c < 3; c++) data[k + c] = Math.round((data[k + c] ?? 0) * (1 - a) + (rgb[c] ?? 0) * a);
  };
  // Grid every 0.1.
  for (let g = Math.ceil(x0 * 10); g <= x1 * 10; g++)
    for (let j = 0; j < size; j++) blend(Math.round(px(g / 10)), j, [0, 0, 0], 0.06);
  for (let g = Math.ceil(y0 * 10); g <= y1 * 10; g++)
    for (let i = 0; i < size; i++) blend(i, Math.round(py(g / 10)), [0, 0, 0], 0.06);
  const circle = (c: readonly number[], r: number, rgb: readonly number[]) => {
    const steps = Math.ceil((2 * Math.PI * r * size) / (x1 - x0)) * 2;
    for (let s = 0; s < steps; s++) {
      const a = (2 * Math.PI * s) / steps;
      const i = Math.round(px((c[0] ?? 0) + r * Math.cos(a)));
      const j = Math.round(py((c[1] ?? 0) + r * Math.sin(a)));
      for (const [di, dj] of [
        [0, 0],
        [1, 0],
        [0, 1],
      ] as const)
        blend(i + di, j + dj, rgb, 0.9);
    }
  };
  // Points first, circles on top so they stay visible.
  for (let n = 0; n < points.length / 2; n++) {
    const i = Math.round(px(points[2 * n] ?? Number.NaN));
    const j = Math.round(py(points[2 * n + 1] ?? Number.NaN));
    if (!Number.isFinite(i) || !Number.isFinite(j)) continue;
    for (let di = -1; di <= 1; di++)
      for (let dj = -1; dj <= 1; dj++)
        blend(i + di, j + dj, [30, 60, 160], di === 0 && dj === 0 ? 0.55 : 0.25);
  }
  const { pretrain, desirable, undesirable } = TOY_DISTRIBUTIONS;
  circle(pretrain.mean, 3 * pretrain.std, [120, 120, 120]);
  circle(desirable.mean, desirable.std, [20, 160, 40]);
  circle(undesirable.mean, undesirable.std, [210, 40, 30]);
  return { width: size, height: size, data };
}
