/**
 * The flat parameter layout used by the optimizer, checkpoints and the gradient all-reduce: every
 * parameter of the model in declaration order, concatenated into one float32 vector.
 */
import { type ParamDecl } from "../model/ops";
import { checkWeights, shapeSize, type WeightMap } from "../model/params";

export type ParamLayout = {
  readonly names: readonly string[];
  readonly shapes: readonly (readonly number[])[];
  /** Element offset of each parameter in the flat vector. */
  readonly offsets: readonly number[];
  readonly sizes: readonly number[];
  /** Whether the optimizer updates each parameter. */
  readonly trainable: readonly boolean[];
  /** Total elements. */
  readonly total: number;
};

/** decls + a trainable predicate → layout. */
export function createLayout(
  decls: readonly ParamDecl[],
  isTrainable: (name: string) => boolean,
): ParamLayout {
  const offsets: number[] = [];
  const sizes: number[] = [];
  let total = 0;
  for (const d of decls) {
    offsets.push(total);
    sizes.push(shapeSize(d.shape));
    total += shapeSize(d.shape);
  }
  return {
    names: decls.map((d) => d.name),
    shapes: decls.map((d) => [...d.shape]),
    offsets,
    sizes,
    trainable: decls.map((d) => isTrainable(d.name)),
    total,
  };
}

/**
 * Named parameter subsets of the UNet a fine-tune can be limited to (TrainOptions.trainableParameters patterns): the
 * conditioning paths — attention projections and the pooled-text projection — (`attn`), BitFit's biases and norm
 * scales (`bitfit`), the decoder half and output head (`up`). On the 16 px base, attn is 18% of the UNet's weights,
 * bitfit 0.6%, up 39%. `all` (no patterns) trains every parameter.
 */
export const TRAINABLE_SUBSETS = {
  attn: ["unet.*attn*", "unet.text_pool.*"],
  bitfit: ["unet.*.b", "unet.*.beta", "unet.*.gamma"],
  up: ["unet.up*", "unet.out.*"],
} as const satisfies Record<string, readonly string[]>;
export type TrainableSubset = keyof typeof TRAINABLE_SUBSETS;
export const isTrainableSubset = (name: string): name is TrainableSubset =>
  Object.hasOwn(TRAINABLE_SUBSETS, name);

/**
 * Parameter-name patterns → predicate. A pattern is a full parameter name in which `*` stands for any run of
 * characters, dots included ("unet.*attn*" matches every attention projection of the UNet, "*.b" every bias).
 * Each pattern must match at least one of `names`, so a typo cannot silently freeze the whole model.
 */
export function parameterPatterns(
  patterns: readonly string[],
  names: readonly string[],
): { readonly matches: (name: string) => boolean; readonly unmatched: readonly string[] } {
  const regexes = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split("*")
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
          .join(".*")}$`,
      ),
  );
  const unmatched = patterns.filter((_, i) => !names.some((n) => regexes[i]?.test(n)));
  return { matches: (name) => regexes.some((re) => re.test(name)), unmatched };
}

/** weights (validated against the decls) → one flat float32 vector in layout order. */
export function flattenWeights(
  layout: ParamLayout,
  decls: readonly ParamDecl[],
  weights: WeightMap,
): Float32Array {
  checkWeights(decls, weights);
  const flat = new Float32Array(layout.total);
  layout.names.forEach((name, i) => {
    const w = weights.get(name);
    if (w) flat.set(w.data, layout.offsets[i]);
  });
  return flat;
}

/** flat vector → weight map (copies). */
export function unflattenWeights(layout: ParamLayout, flat: Float32Array): WeightMap {
  const out: WeightMap = new Map();
  layout.names.forEach((name, i) => {
    const off = layout.offsets[i] ?? 0;
    out.set(name, {
      shape: [...(layout.shapes[i] ?? [])],
      data: flat.slice(off, off + (layout.sizes[i] ?? 0)),
    });
  });
  return out;
}
