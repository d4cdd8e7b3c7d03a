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
    }
    out.set(d.name, { shape: [...d.shape], data });
  });
  return out;
}

/**
 * A `Params<T>` over a name → handle map, checking every declaration against it.
 * `shapeOf` reads a handle's shape. Throws KtoError("WEIGHTS_MISMATCH") on a missing name or wrong shape.
 */
export function paramsFromMap<T>(map: ReadonlyMap<string, T>, shapeOf: (handle: T) => readonly number[]): Params<T> {
  return {
    get(decl) {
      const h = map.get(decl.name);
      if (h === undefined) throw new KtoError("WEIGHTS_MISMATCH", `missing parameter ${decl.name}`);
      const shape = shapeOf(h);
      if (!sameShape(shape, decl.shape)) {
        throw new KtoError("WEIGHTS_MISMATCH", `parameter ${decl.name} has shape [${shape.join(",")}], expected [${decl.shape.join(",")}]`);
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
    if (w.data.length !== shapeSize(d.shape)) throw new KtoError("WEIGHTS_MISMATCH", `parameter ${d.name} has ${w.data.length} values`);
  }
}
