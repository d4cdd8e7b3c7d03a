/**
 * The op vocabulary of the `tiny` model family: one forward definition (model/unet.ts,
 * model/text-encoder.ts) interpreted three ways — `SpecOps` (parameter/FLOP counting),
 * `TfOps` (tfjs training, NHWC, fast custom gradients) and `OnnxOps` (ONNX nodes, in
 * packages/kto/src/onnx/). Because all three walk the same definition they cannot drift apart.
 *
 * ## Layout neutrality
 * Every op is specified on *semantic* shapes. Three tensor kinds flow through the model:
 * - image    `[N, H, W, C]` — the channel axis is semantic, not positional: an interpreter may
 *            store images NHWC (TfOps) or NCHW (OnnxOps). Only image ops touch images.
 * - sequence `[N, L, D]` and vector `[N, D]` (and the attention intermediates `[N, h, L, dh]`)
 *            — row-major and identical in every interpreter, so `reshape`/`transpose` are
 *            positional and only ever applied to these.
 * - tokens   `[N, L]` integer ids (int32 in tfjs, int64 in ONNX).
 * Parameters are always stored in one layout, whatever the interpreter (see model/params.ts):
 * conv kernels HWIO `[kh, kw, Cin, Cout]`, dense weights `[in, out]`, biases/norm affines `[C]`,
 * embedding tables `[V, D]`, position tables `[L, D]` (sequences) and `[H, W, C]` (images). An NCHW
 * interpreter permutes conv kernels to OIHW and image position tables to `[C, H, W]` when it emits
 * its initializers; nothing else needs permuting.
 *
 * ## ONNX contract (agreed for the project; serving depends on it)
 * - Graph inputs:  `tokens` int64 `[N, L]`; `x` float32 `[N, H, W, 3]` (NHWC, pixels in [-1, 1]);
 *                  `t` float32 `[N]` (integer timestep 0…999 carried as float).
 * - Graph output:  `eps` float32 `[N, H, W, 3]` (NHWC), the ε-prediction for `x` at `t`.
 * - The sinusoidal timestep embedding is computed in-graph from `t` (see `timestepEmbedding`).
 * - N is dynamic; H, W and L are fixed by the model config. Opset 17, GroupNorm as
 *   Reshape → InstanceNormalization → Reshape → Mul/Add (fastest form measured here).
 * - Tokenizer (identical in packages/serving, which cannot import kto; see tokenizer.ts):
 *   lowercase; split on /[^a-z0-9]+/; drop empty pieces; map each word through the vocabulary
 *   (index 0 = "<pad>", 1 = "<unk>" for unknown words); truncate to L, right-pad with 0.
 *   The empty prompt (all pads) is the unconditional input for classifier-free guidance.
 *
 * ## Numerics every interpreter must match
 * - `conv2d`: cross-correlation, explicit symmetric zero padding `pad` on H and W, stride 1 or 2,
 *   output size floor((H + 2·pad − k) / stride) + 1.
 * - `groupNorm`: groups are contiguous channel blocks; biased variance over (H, W, C/G); eps
 *   inside the sqrt: (x − μ) / sqrt(σ² + eps) · γ + β.
 * - `layerNorm`: over the last axis, same eps convention.
 * - `silu(x)` = x · sigmoid(x).
 * - `upsample2x`: nearest neighbour, out[i, j] = in[floor(i/2), floor(j/2)]
 *   (ONNX Resize nearest, coordinate_transformation_mode "asymmetric", nearest_mode "floor").
 * - `imageToSequence`: position index h·W + w (row-major over H, W), features = channels.
 * - `timestepEmbedding(t, dim)`: half = dim/2, fᵢ = exp(−ln(10000) · i / half) for i in 0…half−1,
 *   output = concat([sin(t·fᵢ)]ᵢ, [cos(t·fᵢ)]ᵢ) — sines first.
 * - `softmax`: over the last axis.
 * - `scaleByTimestep(x, t, table)`: x[n] · table[t[n]], t cast to an integer index (exact for 0…T−1);
 *   the table holds float32 values (computed by the caller) so every interpreter multiplies by the same numbers.
 */

/** How a parameter is initialised by `initWeights` (the counting/ONNX interpreters ignore it). */
export type ParamInit =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  /** Gaussian N(0, std²). */
  | { readonly kind: "normal"; readonly std: number }
  /** Uniform U(−limit, limit). */
  | { readonly kind: "uniform"; readonly limit: number }
  /**
   * A smooth coordinate basis for a position table [h, w, c] (CoordConv, Liu et al. 2018; Fourier features): with
   * u, v ∈ (−1, 1) the pixel centre's column and row, channel j holds amplitude·√2 · sin or cos of π·f·u (j mod 4 < 2)
   * or of π·f·v, f = (⌊j/4⌋ + 1)/2, sin for even j. Channel 0 is a left-to-right ramp, channel 2 a top-to-bottom one;
   * every position differs from every other from the first step, smoothly, unlike a white-noise table.
   */
  | { readonly kind: "fourier2d"; readonly amplitude: number };

/** One named parameter as the forward definition declares it. */
export type ParamDecl = {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: ParamInit;
};

/**
 * Where the forward gets its parameters from. `get` is called once per parameter per forward,
 * in declaration order; it returns the interpreter's handle (a tf.Variable, an ONNX initializer
 * name, a shape record…) and should throw if the name is unknown or the shape differs.
 */
export type Params<T> = {
  get(decl: ParamDecl): T;
};

/** Convolution options: square kernel given by the weight, stride 1 or 2, symmetric zero pad. */
export type ConvOptions = { readonly stride: 1 | 2; readonly pad: number };

/**
 * The primitives the model needs, over tensor handles `T`. Shapes are semantic (see header).
 * Interpreters must not retain state between forwards except what they need for their output.
 */
export type Ops<T> = {
  /** x image [N,H,W,Cin], w [k,k,Cin,Cout], b [Cout] → image [N,H',W',Cout]. */
  conv2d(x: T, w: T, b: T, opts: ConvOptions): T;
  /** x [N,D] or [N,L,D] (last axis = in), w [in,out], b [out] → same rank with last axis out. */
  dense(x: T, w: T, b: T): T;
  /** x image [N,H,W,C], gamma/beta [C]; C divisible by groups → image [N,H,W,C]. */
  groupNorm(x: T, gamma: T, beta: T, groups: number, eps: number): T;
  /** x sequence [N,L,D], gamma/beta [D] → [N,L,D]; normalises the last axis. */
  layerNorm(x: T, gamma: T, beta: T, eps: number): T;
  /** Elementwise x·sigmoid(x), any kind. */
  silu(x: T): T;
  /** Elementwise sum of two tensors of the same semantic shape; also sequence [N,L,D] + table [L,D]. */
  add(a: T, b: T): T;
  /** Elementwise product of two tensors of the same semantic shape. */
  mul(a: T, b: T): T;
  /** x · s for a constant s, any kind. */
  scale(x: T, s: number): T;
  /** image [N,H,W,C] + vector [N,C] broadcast over H and W → image [N,H,W,C]. */
  addChannels(x: T, v: T): T;
  /** image [N,H,W,C] · vector [N,C] broadcast over H and W → image [N,H,W,C] (scale-shift conditioning). */
  mulChannels(x: T, v: T): T;
  /** image [N,H,W,C] + position table [H,W,C] (a parameter) broadcast over N → image [N,H,W,C]. */
  addPositions(x: T, table: T): T;
  /** images [N,H,W,Ca], [N,H,W,Cb] → [N,H,W,Ca+Cb] (a's channels first). */
  concatChannels(a: T, b: T): T;
  /** Nearest-neighbour 2× upsample: image [N,H,W,C] → [N,2H,2W,C]. */
  upsample2x(x: T): T;
  /** image [N,H,W,C] → sequence [N,H·W,C], position h·W + w. */
  imageToSequence(x: T): T;
  /** sequence [N,H·W,C] → image [N,H,W,C] (inverse of imageToSequence). */
  sequenceToImage(x: T, height: number, width: number): T;
  /** Row-major reshape of a sequence-kind tensor; `-1` (at most once) stands for the batch-derived dim. */
  reshape(x: T, shape: readonly number[]): T;
  /** Axis permutation of a sequence-kind tensor. */
  transpose(x: T, perm: readonly number[]): T;
  /** Batched matrix product [...,m,k]·[...,k,n] → [...,m,n] (same leading dims). */
  matMul(a: T, b: T): T;
  /** Softmax over the last axis. */
  softmax(x: T): T;
  /** tokens int [N,L], table [V,D] → sequence [N,L,D] (row lookup). */
  embedding(tokens: T, table: T): T;
  /** t float [N] (integer timesteps as floats) → vector [N,dim], sinusoidal, sines first. */
  timestepEmbedding(t: T, dim: number): T;
  /**
   * image [N,H,W,C] · table[t[n]] per sample: `table` is a constant over the timesteps (not a parameter),
   * `t` float [N] holds integer timesteps. Used by the v-parameterisation to turn v̂ into ε̂ in-graph.
   */
  scaleByTimestep(x: T, t: T, table: Float32Array): T;
};

/** The model's graph inputs as interpreter handles (see the ONNX contract above). */
export type ForwardInputs<T> = {
  /** tokens int [N, L] */
  readonly tokens: T;
  /** x image [N, H, W, 3], the noisy image x_t in [-1, 1] scale */
  readonly x: T;
  /** t float [N], integer timesteps 0…999 */
  readonly t: T;
};
