/**
 * Weights as bytes for model artifacts (`weights.bin` + its JSON index, DESIGN.md): every
 * parameter as little-endian float32, concatenated in declaration order, with an index giving
 * each tensor's name, shape and byte offset. kto returns bytes; the trainer writes the files.
 */
import { KtoError } from "../errors";
import { shapeSize, type WeightMap } from "../model/params";

export const WEIGHTS_FORMAT = "likewise-weights";

export type WeightsIndexEntry = {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly byteLength: number;
};

/** The JSON index of weights.bin. Offsets are bytes from the start of the bin, 4-byte aligned. */
export type WeightsIndex = {
  readonly format: typeof WEIGHTS_FORMAT;
  readonly version: 1;
  readonly dtype: "float32";
  readonly byteOrder: "little";
  readonly byteLength: number;
  readonly tensors: readonly WeightsIndexEntry[];
};

const IS_LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

const bad = (msg: string): never => {
  throw new KtoError("BAD_CHECKPOINT", `bad weights: ${msg}`);
};

/** weights → { index, bin }: bin is float32 LE [Σ sizes] in map order. */
export function encodeWeights(weights: WeightMap): { index: WeightsIndex; bin: Uint8Array } {
  if (!IS_LITTLE_ENDIAN) throw new Error("big-endian hosts are not supported");
  const tensors: WeightsIndexEntry[] = [];
  let offset = 0;
  for (const [name, w] of weights) {
    if (w.data.length !== shapeSize(w.shape))
      bad(`${name} has ${w.data.length} values for shape [${w.shape.join(",")}]`);
    tensors.push({ name, shape: [...w.shape], offset, byteLength: w.data.length * 4 });
    offset += w.data.length * 4;
  }
  const bin = new Uint8Array(offset);
  const f32 = new Float32Array(bin.buffer);
  for (const t of tensors) f32.set((weights.get(t.name) as { data: Float32Array }).data, t.offset / 4);
  return {
    index: {
      format: WEIGHTS_FORMAT,
      version: 1,
      dtype: "float32",
      byteOrder: "little",
      byteLength: offset,
      tensors,
    },
    bin,
  };
}

/** { index, bin } → weights (copies). Throws KtoError("BAD_CHECKPOINT") on any inconsistency. */
export function decodeWeights(index: unknown, bin: Uint8Array): WeightMap {
  const ix = index as Partial<WeightsIndex> | null;
  if (
    !ix ||
    ix.format !== WEIGHTS_FORMAT ||
    ix.version !== 1 ||
    ix.dtype !== "float32" ||
    !Array.isArray(ix.tensors)
  )
    bad("unknown index format");
  const { tensors, byteLength } = ix as WeightsIndex;
  if (bin.byteLength !== byteLength) bad(`bin has ${bin.byteLength} bytes, index says ${byteLength}`);
  const aligned = new Uint8Array(bin); // copy: guarantees 4-byte alignment of the view
  const f32 = new Float32Array(aligned.buffer, 0, aligned.byteLength / 4);
  const out: WeightMap = new Map();
  for (const t of tensors) {
    const n = shapeSize(t.shape);
    if (t.byteLength !== n * 4 || t.offset % 4 !== 0 || t.offset + t.byteLength > byteLength)
      bad(`tensor ${t.name} out of range`);
    out.set(t.name, { shape: [...t.shape], data: f32.slice(t.offset / 4, t.offset / 4 + n) });
  }
  return out;
}
