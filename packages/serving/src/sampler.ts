/**
 * Text-to-image sampling: tokenizer → seeded x_T → DDIM loop with classifier-free guidance
 * (Ho & Salimans 2022) → RGB8. Each step is ONE batched ONNX forward over [conditional rows;
 * unconditional rows] and ε = ε_u + s·(ε_c − ε_u); scale 1 skips the unconditional half.
 * The x update runs in plain JS on Float32Array (a few ms per step; the forward dominates).
 *
 * Determinism: image i's noise comes only from seeds[i] (its own RNG stream), so the same
 * (model, prompt, seed, sampler settings, batch) gives bit-identical pixels.
 */
import {
  ddimCoefficients,
  ddimStep,
  ddimTimesteps,
  MAX_STEPS,
  MIN_STEPS,
  type TimestepSpacing,
} from "./ddim";
import { ServingError } from "./errors";
import { IMAGE_CHANNELS, type ModelHost } from "./model-host";
import { type RgbImage } from "./png";
import { GaussianRng, MAX_SEED } from "./rng";
import { type Tokenized, type Tokenizer } from "./tokenizer";

export const DEFAULT_STEPS = 25;
export const DEFAULT_GUIDANCE_SCALE = 3;
export const MAX_GUIDANCE_SCALE = 50;
/** Images per request; with guidance the forward batch is twice this. */
export const MAX_BATCH = 64;
export const MAX_PROMPT_CHARS = 1000;

/** What the sampler calls: one batched ε forward and the sizes it must agree with (a ModelHost, or a composite of
 * several, e.g. reward guidance between an aligned version and its parent). */
export type Denoiser = Pick<ModelHost, "shape" | "forward">;

/** What sampling needs from a loaded model version. */
export type DiffusionModel = {
  host: Denoiser;
  tokenizer: Tokenizer;
  /** ᾱ_t for t = 0..T-1, from the manifest (exactly what training used). */
  alphasCumprod: ArrayLike<number>;
};

export type SampleRequest = {
  /** N prompts; "" is the unconditional prompt. */
  prompts: readonly string[];
  /** N seeds, integers in [0, 2^53 − 1]; seeds[i] alone determines image i's noise. */
  seeds: readonly number[];
  /** DDIM steps in [10, 100]; default 25. */
  steps?: number;
  /** Classifier-free guidance scale s ≥ 1 (1 = no guidance); default 3. */
  guidanceScale?: number;
  /** DDIM η in [0, 1]; default 0 (deterministic given x_T). */
  eta?: number;
  /** Default "trailing" (first step at t = T−1). */
  spacing?: TimestepSpacing;
  /** Clamp x̂0 to [−1, 1] at every step; default true. */
  clipDenoised?: boolean;
  /** Reject prompts with out-of-vocabulary words instead of mapping them to <unk>; default false. */
  strictVocabulary?: boolean;
};

export type SampleSettings = Required<Omit<SampleRequest, "prompts" | "seeds">>;

export type SampleResult = {
  /** N images, [H, W, 3] uint8 each, in request order. */
  images: RgbImage[];
  /** Per prompt: token ids, unknown words, truncation. */
  tokens: Tokenized[];
  settings: SampleSettings;
  /** The DDIM timesteps used, descending. */
  timesteps: number[];
  timings: { totalMs: number; forwardMs: number; updateMs: number };
};

function bad(message: string): never {
  throw new ServingError("INVALID_REQUEST", message);
}

/** Validates a request and fills defaults; throws ServingError("INVALID_REQUEST") with the reason. */
export function resolveSampleRequest(
  req: SampleRequest,
  tokenizer: Tokenizer,
): { settings: SampleSettings; tokens: Tokenized[] } {
  const { prompts, seeds } = req;
  if (!Array.isArray(prompts) || prompts.length === 0) bad("prompts must be a non-empty array");
  if (prompts.length > MAX_BATCH) bad(`at most ${MAX_BATCH} images per request, got ${prompts.length}`);
  if (!Array.isArray(seeds) || seeds.length !== prompts.length)
    bad(
      `need one seed per prompt: ${prompts.length} prompts, ${Array.isArray(seeds) ? seeds.length : "no"} seeds`,
    );
  seeds.forEach((s, i) => {
    if (typeof s !== "number" || !Number.isSafeInteger(s) || s < 0)
      bad(`seeds[${i}] must be an integer in [0, ${MAX_SEED}], got ${String(s)}`);
  });
  const steps = req.steps ?? DEFAULT_STEPS;
  if (!Number.isInteger(steps) || steps < MIN_STEPS || steps > MAX_STEPS)
    bad(`steps must be an integer in [${MIN_STEPS}, ${MAX_STEPS}], got ${steps}`);
  const guidanceScale = req.guidanceScale ?? DEFAULT_GUIDANCE_SCALE;
  if (
    typeof guidanceScale !== "number" ||
    !Number.isFinite(guidanceScale) ||
    guidanceScale < 1 ||
    guidanceScale > MAX_GUIDANCE_SCALE
  ) {
    bad(`guidanceScale must be a number in [1, ${MAX_GUIDANCE_SCALE}], got ${guidanceScale}`);
  }
  const eta = req.eta ?? 0;
  if (typeof eta !== "number" || !Number.isFinite(eta) || eta < 0 || eta > 1)
    bad(`eta must be a number in [0, 1], got ${eta}`);
  const spacing = req.spacing ?? "trailing";
  if (spacing !== "trailing" && spacing !== "leading" && spacing !== "linspace")
    bad(`spacing must be trailing, leading or linspace, got ${String(spacing)}`);
  const clipDenoised = req.clipDenoised ?? true;
  const strictVocabulary = req.strictVocabulary ?? false;
  const tokens = prompts.map((p, i) => {
    if (typeof p !== "string") bad(`prompts[${i}] must be a string, got ${typeof p}`);
    if (p.length > MAX_PROMPT_CHARS)
      bad(`prompts[${i}] has ${p.length} characters (max ${MAX_PROMPT_CHARS})`);
    const tok = tokenizer.encode(p);
    if (strictVocabulary && tok.unknownWords.length)
      bad(`prompts[${i}] has words outside the model's vocabulary: ${tok.unknownWords.join(", ")}`);
    return tok;
  });
  return { settings: { steps, guidanceScale, eta, spacing, clipDenoised, strictVocabulary }, tokens };
}

/** x [N*H*W*3] float32 in [-1, 1] (NHWC) → N RGB8 images; values outside the range are clipped. */
export function toRgb8(x: Float32Array, n: number, size: number): RgbImage[] {
  const pix = size * size * IMAGE_CHANNELS;
  const images: RgbImage[] = [];
  for (let b = 0; b < n; b++) {
    const data = new Uint8Array(pix);
    for (let i = 0; i < pix; i++) {
      const v = x[b * pix + i] ?? 0;
      const c = v < -1 ? -1 : v > 1 ? 1 : v;
      data[i] = Math.round((c + 1) * 127.5); // a NaN pixel (broken model) stores as 0 in a Uint8Array
    }
    images.push({ width: size, height: size, data });
  }
  return images;
}

/** Samples N images: request as in SampleRequest → SampleResult (RGB8 images + diagnostics). */
export async function sampleImages(
  model: DiffusionModel,
  request: SampleRequest,
  hooks: { onStep?: (done: number, total: number) => void } = {},
): Promise<SampleResult> {
  const started = performance.now();
  const { host, tokenizer, alphasCumprod } = model;
  const { settings, tokens } = resolveSampleRequest(request, tokenizer);
  const { imageSize: size, contextLength: l } = host.shape;
  if (tokenizer.contextLength !== l)
    throw new ServingError(
      "CONTRACT_MISMATCH",
      `tokenizer context ${tokenizer.contextLength} ≠ model context ${l}`,
    );
  const n = request.prompts.length;
  const pix = size * size * IMAGE_CHANNELS;
  const isGuided = settings.guidanceScale !== 1;
  const rows = isGuided ? 2 * n : n;

  // Rows [0, n) are the prompts; rows [n, 2n) stay all-pad (the unconditional input).
  const tokenIds = new BigInt64Array(rows * l);
  tokens.forEach((tok, r) => tok.ids.forEach((id, i) => (tokenIds[r * l + i] = BigInt(id))));

  const rngs = request.seeds.map((s) => new GaussianRng(s));
  const x = new Float32Array(n * pix);
  rngs.forEach((rng, b) => rng.fillGaussian(x, b * pix, pix));

  const timesteps = ddimTimesteps(alphasCumprod.length, settings.steps, settings.spacing);
  const coefs = ddimCoefficients(alphasCumprod, timesteps, settings.eta);
  const xIn = isGuided ? new Float32Array(rows * pix) : x;
  const tIn = new Float32Array(rows);
  const eps = isGuided ? new Float32Array(n * pix) : null;
  const noise = settings.eta > 0 ? new Float32Array(n * pix) : undefined;
  const s = settings.guidanceScale;
  let forwardMs = 0;
  let updateMs = 0;
  let done = 0;

  for (const c of coefs) {
    if (isGuided) {
      xIn.set(x, 0);
      xIn.set(x, n * pix);
    }
    tIn.fill(c.t);
    const f0 = performance.now();
    const out = await host.forward({ batch: rows, tokens: tokenIds, x: xIn, t: tIn });
    const f1 = performance.now();
    forwardMs += f1 - f0;
    let e = out;
    if (eps) {
      for (let i = 0; i < n * pix; i++) {
        const u = out[n * pix + i] ?? 0;
        eps[i] = u + s * ((out[i] ?? 0) - u);
      }
      e = eps;
    }
    if (noise) rngs.forEach((rng, b) => rng.fillGaussian(noise, b * pix, pix));
    ddimStep(x, e, c, settings.clipDenoised, noise);
    updateMs += performance.now() - f1;
    hooks.onStep?.(++done, coefs.length);
    // ORT's run completes synchronously, so without this the whole loop would run as microtasks and the process
    // could not read a socket (a NOTIFY, a DB reply, an HTTP request) until the request finished.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  return {
    images: toRgb8(x, n, size),
    tokens,
    settings,
    timesteps,
    timings: { totalMs: performance.now() - started, forwardMs, updateMs },
  };
}
