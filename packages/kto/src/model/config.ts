/**
 * Configuration of the `tiny` model family: a pixel-space, text-conditioned ε-prediction UNet
 * (Ho et al. 2020, "Denoising Diffusion Probabilistic Models"; cross-attention conditioning as in
 * Rombach et al. 2022) with a small transformer text encoder. Configs are plain JSON (they go
 * into manifest.json) and are validated once, here; every error is a KtoError("INVALID_CONFIG").
 */
import { KtoError } from "../errors";
import { createSchedule, type ScheduleSpec } from "../schedule";

export const MODEL_FAMILIES = ["tiny"] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

export const IMAGE_SIZES = [16, 24, 32] as const;
export type ImageSize = (typeof IMAGE_SIZES)[number];

export type TextEncoderConfig = {
  /** Vocabulary size V, including "<pad>" (0) and "<unk>" (1). */
  readonly vocabSize: number;
  /** Context length L: prompts are truncated / padded to L tokens. */
  readonly contextLength: number;
  /** Width D of the token embeddings and of the context the UNet attends to. */
  readonly dim: number;
  /** Transformer blocks (pre-LN self-attention + SiLU MLP); 0 = embeddings + final LayerNorm only. */
  readonly layers: number;
  readonly heads: number;
  /** MLP hidden width = mlpRatio · dim. */
  readonly mlpRatio: number;
};

export type ModelConfig = {
  readonly family: ModelFamily;
  /** Square image side in pixels; must be divisible by 2^(levels − 1). */
  readonly imageSize: ImageSize;
  /** UNet channels per resolution level (level 0 = full resolution). */
  readonly channels: readonly number[];
  /** ResBlocks per level on the way down (and on the way up). */
  readonly blocksPerLevel: number;
  /** Levels whose ResBlocks are each followed by cross-attention to the text tokens. */
  readonly attentionLevels: readonly number[];
  /** Cross-attention between the two middle ResBlocks (at the lowest resolution). */
  readonly midAttention: boolean;
  /** Attention heads of the UNet cross-attention (head width = channels / heads). */
  readonly attentionHeads: number;
  /** GroupNorm groups; must divide every channel count. */
  readonly groups: number;
  /** Width of the sinusoidal timestep embedding (even). */
  readonly timeEmbedDim: number;
  /** Width of the timestep MLP output fed to every ResBlock. */
  readonly timeHiddenDim: number;
  /**
   * Global text conditioning: the text encoder's output, flattened, is projected into the timestep MLP
   * (as Imagen / SDXL add a pooled text embedding to the timestep embedding), so every ResBlock sees the
   * prompt, not only the cross-attention layers. Absent = false (models trained before it existed).
   */
  readonly textPooling?: boolean;
  /**
   * Absolute position signal: a learned table [imageSize, imageSize, channels[0]] added to the first conv's output
   * (the learned positional embedding of ViT / DiT, on the pixel grid). Without it the UNet is translation-equivariant
   * apart from zero padding and its cross-attention has no positional encoding, so "at the top left" can only be
   * inferred from the borders. Absent = false (models trained before it existed).
   */
  readonly positionEmbedding?: boolean;
  /**
   * A learned position table [size, size, c] per cross-attention block, added to the normalised features the queries
   * are computed from. At high noise the features are mostly noise, so a position added once after the first conv
   * is illegible to the attention that has to put "at the top left" somewhere. Absent = false.
   */
  readonly attentionPositions?: boolean;
  /**
   * How the position tables (positionEmbedding, attentionPositions) start: absent = white noise (std 0.1 after the
   * first conv, 0.5 at the attention queries); "fourier" = a smooth coordinate basis (ParamInit "fourier2d",
   * amplitude 0.5 for both, legible next to unit-scale noisy features), so rows and columns are linearly readable from step 0 (CoordConv: a conv net learns "draw a blob at
   * (x, y)" far faster when it is given the coordinates). Training only: the graph is the same.
   */
  readonly positionInit?: "fourier";
  /**
   * How each ResBlock takes the timestep (and pooled-text) embedding: absent = added per channel (DDPM); true = scale
   * and shift of the second GroupNorm's output, h·(1 + s) + b (AdaGN, Dhariwal & Nichol 2021; FiLM, Perez et al. 2018),
   * with the scale from a zero-initialised `${block}.temb_scale` dense layer. Multiplicative conditioning lets the text
   * gate position-dependent features (the position tables) in one layer, which "at the top left" needs. Absent = false.
   */
  readonly scaleShift?: boolean;
  /**
   * A layout pathway from the prompt to the bottleneck, bypassing cross-attention: the encoded prompt mean-pooled over
   * its tokens (a bag of contextual words, the same for a phrase wherever it sits in the caption) → MLP → a coarse
   * feature map [s, s, c] (s = bottleneckSize, c = the last level's channels) added to the bottleneck's input — the
   * spatial counterpart of a class embedding. "At the top left" is then a linear read of the pooled words ("top" and
   * "left" present) laid out at the right place in one layer; through softmax cross-attention the model has to express
   * "top centre" as the absence of "left" and "right", which it did not learn (BENCHMARKS.md "Base model").
   * Absent = false.
   */
  readonly textLayout?: boolean;
  /**
   * What the UNet's last conv predicts. Absent = ε (Ho et al. 2020). `v` (Salimans & Ho 2022, "Progressive
   * Distillation"): the network predicts v = √ᾱ_t·ε − √(1−ᾱ_t)·x₀ and the graph returns
   * ε̂ = √ᾱ_t·v̂ + √(1−ᾱ_t)·x_t, so the ONNX contract (output ε) is unchanged. At low SNR, where ε ≈ x_t, an
   * ε-network must copy its noisy input through the whole UNet and adds the image as a tiny correction; a
   * v-network outputs ≈ −x₀ there, which is what decides the composition. `schedule` is the noise schedule the
   * model is trained with (its ᾱ table is baked into the graph; training refuses another one).
   */
  readonly prediction?: { readonly kind: "v"; readonly schedule: ScheduleSpec };
  readonly text: TextEncoderConfig;
};

/** Optional overrides for `createModelConfig`; `text` may be partial too. */
export type ModelConfigInput = Partial<Omit<ModelConfig, "text">> & {
  readonly text?: Partial<TextEncoderConfig>;
};

/** The platform notes' measured model: 32×32, channels [32,64,64], one ResBlock per level, mid attention. */
export const DEFAULT_MODEL_CONFIG: ModelConfig = {
  family: "tiny",
  imageSize: 32,
  channels: [32, 64, 64],
  blocksPerLevel: 1,
  attentionLevels: [],
  midAttention: true,
  attentionHeads: 4,
  groups: 8,
  timeEmbedDim: 32,
  timeHiddenDim: 128,
  text: { vocabSize: 64, contextLength: 8, dim: 64, layers: 1, heads: 4, mlpRatio: 2 },
};

/** GroupNorm / LayerNorm epsilon shared by every interpreter. */
export const NORM_EPS = 1e-5;

const invalid = (msg: string): never => {
  throw new KtoError("INVALID_CONFIG", `Invalid model config: ${msg}`);
};

const isPosInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v > 0;

/** Defaults + overrides → a validated config. Throws KtoError("INVALID_CONFIG") with the reason. */
export function createModelConfig(input: ModelConfigInput = {}): ModelConfig {
  const cfg: ModelConfig = {
    ...DEFAULT_MODEL_CONFIG,
    ...input,
    text: { ...DEFAULT_MODEL_CONFIG.text, ...input.text },
  };
  validateModelConfig(cfg);
  return cfg;
}

/** Checks an untrusted config (e.g. from manifest.json); returns it typed or throws INVALID_CONFIG. */
export function validateModelConfig(raw: unknown): ModelConfig {
  if (typeof raw !== "object" || raw === null) return invalid("expected an object");
  const c = raw as Record<string, unknown>;
  if (!MODEL_FAMILIES.includes(c.family as ModelFamily)) {
    invalid(`unknown family ${JSON.stringify(c.family)} (known: ${MODEL_FAMILIES.join(", ")})`);
  }
  if (!IMAGE_SIZES.includes(c.imageSize as ImageSize)) {
    invalid(`imageSize must be one of ${IMAGE_SIZES.join(", ")}, got ${JSON.stringify(c.imageSize)}`);
  }
  const imageSize = c.imageSize as number;
  const channels = c.channels;
  if (!Array.isArray(channels) || channels.length < 1 || channels.length > 5 || !channels.every(isPosInt)) {
    invalid("channels must be 1–5 positive integers, one per level");
  }
  const levels = (channels as number[]).length;
  const factor = 2 ** (levels - 1);
  if (imageSize % factor !== 0) {
    invalid(
      `imageSize ${imageSize} is not divisible by the downsampling factor ${factor} of ${levels} levels`,
    );
  }
  if (!isPosInt(c.groups)) invalid("groups must be a positive integer");
  for (const ch of channels as number[]) {
    if (ch % (c.groups as number) !== 0)
      invalid(`channel count ${ch} is not divisible by groups=${String(c.groups)}`);
  }
  if (!isPosInt(c.blocksPerLevel) || c.blocksPerLevel > 4)
    invalid("blocksPerLevel must be an integer in 1…4");
  const att = c.attentionLevels;
  if (!Array.isArray(att) || !att.every((l) => Number.isInteger(l) && l >= 0 && l < levels)) {
    invalid(`attentionLevels must be level indices in 0…${levels - 1}`);
  }
  if (typeof c.midAttention !== "boolean") invalid("midAttention must be a boolean");
  if (!isPosInt(c.attentionHeads)) invalid("attentionHeads must be a positive integer");
  const attChannels = [...(att as number[]).map((l) => (channels as number[])[l] ?? 0)];
  if (c.midAttention) attChannels.push((channels as number[])[levels - 1] ?? 0);
  for (const ch of attChannels) {
    if (ch % (c.attentionHeads as number) !== 0)
      invalid(`attention width ${ch} is not divisible by attentionHeads=${String(c.attentionHeads)}`);
  }
  if (!isPosInt(c.timeEmbedDim) || c.timeEmbedDim % 2 !== 0)
    invalid("timeEmbedDim must be a positive even integer");
  if (!isPosInt(c.timeHiddenDim)) invalid("timeHiddenDim must be a positive integer");
  if (c.textPooling !== undefined && typeof c.textPooling !== "boolean")
    invalid("textPooling must be a boolean");
  if (c.positionEmbedding !== undefined && typeof c.positionEmbedding !== "boolean")
    invalid("positionEmbedding must be a boolean");
  if (c.attentionPositions !== undefined && typeof c.attentionPositions !== "boolean")
    invalid("attentionPositions must be a boolean");
  if (c.scaleShift !== undefined && typeof c.scaleShift !== "boolean")
    invalid("scaleShift must be a boolean");
  if (c.textLayout !== undefined && typeof c.textLayout !== "boolean")
    invalid("textLayout must be a boolean");
  if (c.positionInit !== undefined && c.positionInit !== "fourier")
    invalid(`positionInit must be "fourier" or absent, got ${JSON.stringify(c.positionInit)}`);
  if (c.prediction !== undefined) {
    const p = c.prediction as Record<string, unknown> | null;
    if (typeof p !== "object" || p === null || p.kind !== "v")
      invalid(
        `prediction must be { kind: "v", schedule } or absent (ε), got ${JSON.stringify(c.prediction)}`,
      );
    try {
      const spec = (p as { schedule?: unknown }).schedule;
      if (typeof spec !== "object" || spec === null)
        throw new Error("missing (the schedule the model is trained with)");
      createSchedule(spec as ScheduleSpec);
    } catch (e) {
      invalid(`prediction.schedule: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const t = c.text as Record<string, unknown> | undefined;
  if (typeof t !== "object" || t === null) return invalid("text must be an object");
  if (!isPosInt(t.vocabSize) || t.vocabSize < 2)
    invalid("text.vocabSize must be an integer ≥ 2 (<pad>, <unk>)");
  if (!isPosInt(t.contextLength) || t.contextLength > 77)
    invalid("text.contextLength must be an integer in 1…77");
  if (!isPosInt(t.dim)) invalid("text.dim must be a positive integer");
  if (typeof t.layers !== "number" || !Number.isInteger(t.layers) || t.layers < 0 || t.layers > 6)
    invalid("text.layers must be an integer in 0…6");
  if (!isPosInt(t.heads) || (t.dim as number) % t.heads !== 0) invalid("text.heads must divide text.dim");
  if (!isPosInt(t.mlpRatio)) invalid("text.mlpRatio must be a positive integer");
  return raw as ModelConfig;
}

/** Number of resolution levels (= channels.length). */
export const levelCount = (cfg: ModelConfig): number => cfg.channels.length;

/** Side length of the lowest-resolution feature map. */
export const bottleneckSize = (cfg: ModelConfig): number => cfg.imageSize / 2 ** (cfg.channels.length - 1);
