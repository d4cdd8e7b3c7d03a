/**
 * Parameters as a flat named map, the currency between interpreters: the forward declares each
 * parameter by name (`ParamDecl`), `SpecOps` lists the declarations, `initWeights` samples them
 * with a seeded RNG, and any interpreter reads them back by name. Layouts are fixed (conv HWIO,
 * dense [in, out]) whatever the interpreter; see model/ops.ts.
 */
import { KtoError } from "../errors";
import { createRng } from "../rng";
import { type ParamDecl, type Params } from "./ops";

/** One parameter's values: row-major float32 `data` of the given `shape`. */
export type WeightTensor = { readonly shape: readonly number[]; readonly data: Float32Array };

/** Name → values, in declaration order (Map preserves insertion order). */
export type WeightMap = Map<string, WeightTensor>;

export const shapeSize = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** decls → freshly initialised weights, deterministic under `seed` (one RNG stream per parameter index). */
export function initWeights(decls: readonly ParamDecl[], seed: number): WeightMap {
  const out: WeightMap = new Map();
  decls.forEach((d, i) => {
    const data = new Float32Array(shapeSize(d.shape));
    const rng = createRng(seed, 0x1417, i);
    switch (d.init.kind) {
      case "zeros":
        break;
      case "ones":
        data.fill(1);
        break;
      case "normal":
        rng.fillNormal(data, d.init.std);
        break;
      case "uniform":
        rng.fillUniform(data, -d.init.limit, d.init.limit);
        break;
      case "fourier2d":
        fillFourier2d(data, d.shape, d.init.amplitude, d.name);
        break;
    }
    out.set(d.name, { shape: [...d.shape], data });
  });
  return out;
}

/** ParamInit "fourier2d" (model/ops.ts) into a row-major [h, w, c] table. */
function fillFourier2d(data: Float32Array, shape: readonly number[], amplitude: number, name: string): void {
  const [h, w, c] = shape;
  if (shape.length !== 3 || h === undefined || w === undefined || c === undefined) {
    throw new KtoError(
      "INVALID_CONFIG",
      `fourier2d init needs an [h, w, c] table, ${name} is [${shape.join(",")}]`,
    );
  }
  const a = amplitude * Math.SQRT2;
  for (let y = 0; y < h; y++) {
    const v = ((y + 0.5) / h) * 2 - 1;
    for (let x = 0; x < w; x++) {
      const u = ((x + 0.5) / w) * 2 - 1;
      for (let j = 0; j < c; j++) {
        const f = (Math.floor(j / 4) + 1) / 2;
        const arg = Math.PI * f * (j % 4 < 2 ? u : v);
        data[(y * w + x) * c + j] = a * (j % 2 === 0 ? Math.sin(arg) : Math.cos(arg));
      }
    }
  }
}

/**
 * A `Params<T>` over a name → handle map, checking every declaration against it.
 * `shapeOf` reads a handle's shape. Throws KtoError("WEIGHTS_MISMATCH") on a missing name or wrong shape.
 */
export function paramsFromMap<T>(
  map: ReadonlyMap<string, T>,
  shapeOf: (handle: T) => readonly number[],
): Params<T> {
  return {
    get(decl) {
      const h = map.get(decl.name);
      if (h === undefined) throw new KtoError("WEIGHTS_MISMATCH", `missing parameter ${decl.name}`);
      const shape = shapeOf(h);
      if (!sameShape(shape, decl.shape)) {
        throw new KtoError(
          "WEIGHTS_MISMATCH",
          `parameter ${decl.name} has shape [${shape.join(",")}], expected [${decl.shape.join(",")}]`,
        );
      }
      return h;
    },
  };
}

/** Checks that `weights` holds exactly the declared parameters with the declared shapes. */
export function checkWeights(decls: readonly ParamDecl[], weights: ReadonlyMap<string, WeightTensor>): void {
  const names = new Set(decls.map((d) => d.name));
  for (const name of weights.keys()) {
    if (!names.has(name)) throw new KtoError("WEIGHTS_MISMATCH", `unexpected parameter ${name}`);
  }
  const p = paramsFromMap(weights, (w) => w.shape);
  for (const d of decls) {
    const w = p.get(d);
    if (w.data.length !== shapeSize(d.shape))
      throw new KtoError("WEIGHTS_MISMATCH", `parameter ${d.name} has ${w.data.length} values`);
  }
}

/**
 * The element-wise mean of several weight maps of one architecture (a "model soup", Wortsman et al. 2022): fine-tunes
 * of one parent that differ only in their training seed share the update the labels ask for, while the directions
 * each seed's batch order and noise add are independent and shrink as 1/√K in the mean. Every map must hold the same
 * names with the same shapes, in any order (the first map's order is kept); throws WEIGHTS_MISMATCH otherwise.
 */
export function averageWeights(maps: readonly ReadonlyMap<string, WeightTensor>[]): WeightMap {
  const [first] = maps;
  if (!first) throw new KtoError("WEIGHTS_MISMATCH", "averageWeights: no weight map to average");
  maps.forEach((m, k) => {
    if (m.size !== first.size)
      throw new KtoError(
        "WEIGHTS_MISMATCH",
        `averageWeights: map ${k} has ${m.size} parameters, map 0 has ${first.size}`,
      );
  });
  const out: WeightMap = new Map();
  for (const [name, w] of first) {
    const sum = new Float64Array(w.data.length);
    maps.forEach((m, k) => {
      const other = m.get(name);
      if (!other || !sameShape(other.shape, w.shape))
        throw new KtoError(
          "WEIGHTS_MISMATCH",
          `averageWeights: map ${k} ${other ? `has ${name} of shape [${other.shape.join(", ")}], expected [${w.shape.join(", ")}]` : `lacks ${name}`}`,
        );
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] ?? 0) + (other.data[i] ?? 0);
    });
    out.set(name, { shape: [...w.shape], data: Float32Array.from(sum, (s) => s / maps.length) });
  }
  return out;
}
