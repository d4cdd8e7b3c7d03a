// How much a model uses its prompt, measured directly on its denoiser: faithful renders of the shapes world with
// their captions are noised to x_t at a few timesteps, and the ONNX model predicts ε with the right caption, with
// another image's caption (the batch rolled by one) and with the empty prompt. A model that conditions on the text
// denoises clearly better with the right caption, most of all at high t where the caption has to decide the image;
// a ratio near 1 there means the prompt is ignored (what the first base model did; BENCHMARKS.md "Base model").
// Since x̂₀ − x₀ = −√((1 − ᾱ_t)/ᾱ_t)·(ε̂ − ε), the ε-MSE ratios are also the x̂₀-error ratios.
import { GaussianRng, type LoadedModel, type RgbImage } from "@likewise/serving";
import {
  CLEAN_MIX,
  COLOURS,
  formatCaption,
  fullDescription,
  POSITIONS,
  sampleExample,
  SHAPES,
  SIZES,
  toFloat32,
  type ImageSize,
} from "@likewise/synth";

export type PromptUseRow = {
  readonly t: number;
  /** ε-MSE with the right caption. */
  readonly mseRight: number;
  /** ε-MSE with another image's caption ÷ with the right one (> 1: the caption helps). */
  readonly rolledOverRight: number;
  /** ε-MSE with the empty prompt ÷ with the right one. */
  readonly emptyOverRight: number;
};

export type PromptUse = {
  readonly images: number;
  readonly seed: number;
  readonly rows: readonly PromptUseRow[];
};

export const PROMPT_USE_TIMESTEPS = [100, 300, 500, 700, 850] as const;

/** x₀ noised to x_t with `eps` → the model's ε-MSE against `eps` for a batch of `n` token rows. */
function noisedMse(
  model: LoadedModel,
  x0: Float32Array,
  eps: Float32Array,
  n: number,
  t: number,
): (tokens: BigInt64Array) => Promise<number> {
  const ab = model.alphasCumprod[t] as number;
  const a = Math.sqrt(ab);
  const b = Math.sqrt(1 - ab);
  const x = Float32Array.from(x0, (v, k) => a * v + b * (eps[k] as number));
  const tt = new Float32Array(n).fill(t);
  return async (tokens) => {
    const pred = await model.host.forward({ batch: n, tokens, x, t: tt });
    let sum = 0;
    for (let k = 0; k < pred.length; k++) sum += ((pred[k] as number) - (eps[k] as number)) ** 2;
    return sum / pred.length;
  };
}

/** ε-MSE ratios (rolled / right, empty / right) at each timestep over `images` clean renders (seeded). */
export async function measurePromptUse(
  model: LoadedModel,
  o: { images?: number; seed?: number; timesteps?: readonly number[] } = {},
): Promise<PromptUse> {
  const n = o.images ?? 48;
  const seed = o.seed ?? 777;
  const timesteps = o.timesteps ?? PROMPT_USE_TIMESTEPS;
  if (!Number.isInteger(n) || n < 2)
    throw new RangeError(`images must be an integer ≥ 2 (the rolled captions need another image), got ${n}`);
  const s = model.manifest.imageSize;
  const L = model.manifest.contextLength;
  const P = s * s * 3;
  const T = model.alphasCumprod.length;
  const x0 = new Float32Array(n * P);
  const right = new BigInt64Array(n * L);
  for (let i = 0; i < n; i++) {
    const ex = sampleExample(seed, i, { size: s as ImageSize, mix: CLEAN_MIX, caption: { maxWords: L } });
    x0.set(toFloat32(ex.image), i * P);
    model.tokenizer.encode(ex.caption).ids.forEach((id, j) => (right[i * L + j] = BigInt(id)));
  }
  const rolled = new BigInt64Array(n * L);
  for (let i = 0; i < n; i++) rolled.set(right.subarray(((i + 1) % n) * L, (((i + 1) % n) + 1) * L), i * L);
  const empty = new BigInt64Array(n * L); // all <pad>, as prompt dropout trains it
  const eps = new Float32Array(n * P);
  new GaussianRng(seed).fillGaussian(eps);

  const rows: PromptUseRow[] = [];
  for (const t of timesteps) {
    if (!Number.isInteger(t) || t < 0 || t >= T)
      throw new RangeError(`timestep ${t} outside the schedule 0…${T - 1}`);
    const mse = noisedMse(model, x0, eps, n, t);
    const mseRight = await mse(right);
    rows.push({
      t,
      mseRight,
      rolledOverRight: (await mse(rolled)) / mseRight,
      emptyOverRight: (await mse(empty)) / mseRight,
    });
  }
  return { images: n, seed, rows };
}

/** The object attributes measureAttributeUse changes one at a time. */
export const OBJECT_ATTRIBUTES = ["shape", "colour", "size", "position"] as const;
export type ObjectAttribute = (typeof OBJECT_ATTRIBUTES)[number];

export type AttributeUseRow = {
  readonly t: number;
  /** Per attribute: ε-MSE with that one word changed in the caption ÷ with the right caption (1.0 = ignored). */
  readonly ratios: Readonly<Record<ObjectAttribute, number>>;
};
export type AttributeUse = {
  readonly images: number;
  readonly seed: number;
  readonly rows: readonly AttributeUseRow[];
};

const ATTRIBUTE_VALUES: Readonly<Record<ObjectAttribute, readonly string[]>> = {
  shape: SHAPES,
  colour: COLOURS,
  size: SIZES,
  position: POSITIONS,
};

/**
 * Which words of the caption the denoiser uses: single-object clean renders with their full captions are noised to
 * x_t, and ε is predicted with the right caption and with captions where exactly one object attribute names another
 * value (a fixed rotation through the other values; a colour never becomes the background's). A ratio near 1 for an
 * attribute means the model ignores that word: the shipped base of session 4 used colour (1.24 at t = 500) and size but
 * neither shape nor position (1.00), which is why it drew centred blobs (BENCHMARKS.md "Base model").
 */
export async function measureAttributeUse(
  model: LoadedModel,
  o: { images?: number; seed?: number; timesteps?: readonly number[] } = {},
): Promise<AttributeUse> {
  const n = o.images ?? 64;
  const seed = o.seed ?? 99;
  const timesteps = o.timesteps ?? PROMPT_USE_TIMESTEPS;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`images must be a positive integer, got ${n}`);
  const s = model.manifest.imageSize;
  const L = model.manifest.contextLength;
  const P = s * s * 3;
  const T = model.alphasCumprod.length;
  for (const t of timesteps) {
    if (!Number.isInteger(t) || t < 0 || t >= T)
      throw new RangeError(`timestep ${t} outside the schedule 0…${T - 1}`);
  }
  const x0 = new Float32Array(n * P);
  const captions: Record<"right" | ObjectAttribute, string[]> = {
    right: [],
    shape: [],
    colour: [],
    size: [],
    position: [],
  };
  for (let i = 0, k = 0; k < n; i++) {
    const ex = sampleExample(seed, i, { size: s as ImageSize, mix: CLEAN_MIX });
    if (ex.scene.objects.length !== 1) continue;
    const d = fullDescription(ex.scene);
    const obj = d.objects[0];
    if (!obj) continue;
    x0.set(toFloat32(ex.image), k * P);
    captions.right.push(formatCaption(d));
    for (const a of OBJECT_ATTRIBUTES) {
      const others = ATTRIBUTE_VALUES[a].filter((v) => v !== obj[a] && v !== d.background?.colour);
      captions[a].push(formatCaption({ ...d, objects: [{ ...obj, [a]: others[k % others.length] }] }));
    }
    k++;
  }
  const encode = (list: readonly string[]) => {
    const tokens = new BigInt64Array(n * L);
    list.forEach((c, i) =>
      model.tokenizer.encode(c).ids.forEach((id, j) => (tokens[i * L + j] = BigInt(id))),
    );
    return tokens;
  };
  const right = encode(captions.right);
  const changed = OBJECT_ATTRIBUTES.map((a) => [a, encode(captions[a])] as const);
  const eps = new Float32Array(n * P);
  new GaussianRng(seed).fillGaussian(eps);

  const rows: AttributeUseRow[] = [];
  for (const t of timesteps) {
    const mse = noisedMse(model, x0, eps, n, t);
    const base = await mse(right);
    const ratios = {} as Record<ObjectAttribute, number>;
    for (const [attr, tokens] of changed) ratios[attr] = (await mse(tokens)) / base;
    rows.push({ t, ratios });
  }
  return { images: n, seed, rows };
}

/** Prompts that differ only in where the object is (and a colour pair each), for the high-noise probe. */
export const HIGH_NOISE_PROBE_PROMPTS = [
  "a large yellow square at the top left on a plain blue background",
  "a large yellow square at the bottom right on a plain blue background",
  "a large red circle at the top right on a plain white background",
  "a large red circle at the bottom left on a plain white background",
  "a large green triangle on the left on a plain black background",
  "a large green triangle on the right on a plain black background",
] as const;

export type HighNoiseProbe = {
  readonly timesteps: readonly number[];
  /** Per prompt, x̂₀ averaged over `noises` pure-noise inputs at each timestep (RGB8, as the sampler returns). */
  readonly rows: readonly { readonly prompt: string; readonly images: readonly RgbImage[] }[];
};

/**
 * What the denoiser predicts when it sees no image at all: x̂₀ = (x − √(1−ᾱ_t)·ε̂)/√ᾱ_t from pure Gaussian noise x at
 * high t, averaged over `noises` draws — an estimate of E[x₀ | caption] at that noise level. A model that places the
 * object from the caption shows it (in its colour, at its position) here; one that only uses the prompt's global
 * attributes shows the background alone (BENCHMARKS.md "Base model").
 */
export async function probeHighNoise(
  model: LoadedModel,
  o: { prompts?: readonly string[]; timesteps?: readonly number[]; noises?: number; seed?: number } = {},
): Promise<HighNoiseProbe> {
  const prompts = o.prompts ?? HIGH_NOISE_PROBE_PROMPTS;
  const timesteps = o.timesteps ?? [999, 900, 800, 700];
  const n = o.noises ?? 8;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`noises must be a positive integer, got ${n}`);
  const s = model.manifest.imageSize;
  const L = model.manifest.contextLength;
  const P = s * s * 3;
  const T = model.alphasCumprod.length;
  const x = new Float32Array(n * P);
  new GaussianRng(o.seed ?? 5).fillGaussian(x);
  const rows = [];
  for (const prompt of prompts) {
    const ids = model.tokenizer.encode(prompt).ids;
    const tokens = new BigInt64Array(n * L);
    for (let i = 0; i < n; i++) ids.forEach((id, j) => (tokens[i * L + j] = BigInt(id)));
    const images: RgbImage[] = [];
    for (const t of timesteps) {
      if (!Number.isInteger(t) || t < 0 || t >= T)
        throw new RangeError(`timestep ${t} outside the schedule 0…${T - 1}`);
      const ab = model.alphasCumprod[t] as number;
      const b = Math.sqrt(1 - ab);
      const scale = 1 / (Math.sqrt(ab) * n);
      const eps = await model.host.forward({ batch: n, tokens, x, t: new Float32Array(n).fill(t) });
      const mean = new Float64Array(P);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < P; k++)
          mean[k] = (mean[k] as number) + ((x[i * P + k] as number) - b * (eps[i * P + k] as number)) * scale;
      }
      images.push({
        width: s,
        height: s,
        data: Uint8Array.from(mean, (v) => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)))),
      });
    }
    rows.push({ prompt, images });
  }
  return { timesteps, rows };
}
