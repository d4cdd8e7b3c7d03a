/**
 * The `tiny` ε-prediction UNet (Ho et al. 2020, "Denoising Diffusion Probabilistic Models";
 * Ronneberger et al. 2015) conditioned on text by cross-attention (Rombach et al. 2022). Defined
 * once against `Ops<T>`; `modelForward` is the whole graph of the ONNX contract
 * (tokens, x, t) → ε̂. Parameter names are stable: they key weights.bin and checkpoints.
 *
 * Structure (levels l = 0…K−1, channels cₗ, nres = blocksPerLevel):
 *   temb = fc2(SiLU(fc1(sinusoid(t))));  h = conv_in(x) [+ learned position table (positionEmbedding)]
 *   down l: nres × ResBlock(→cₗ) [+ cross-attn if l ∈ attentionLevels]; skip; stride-2 conv (l < K−1)
 *   mid:    [+ text layout map (textLayout)] ResBlock → cross-attn (midAttention) → ResBlock
 *   up l (K−1…0): concat skip_l → nres × ResBlock(→cₗ) [+ cross-attn]; nearest 2× + conv3×3 (l > 0)
 *   out:    GN → SiLU → conv_out (→ 3)
 */
import { conv, crossAttentionBlock, dense, groupNorm, param, resBlock } from "./blocks";
import { bottleneckSize, type ModelConfig } from "./config";
import { type ForwardInputs, type Ops, type Params } from "./ops";
import { textEncoderForward } from "./text-encoder";
import { createSchedule, type ScheduleSpec } from "../schedule";

/** x image [N,H,W,3], t float [N], context [N,L,D] → ε̂ image [N,H,W,3]. Parameters under `unet.`. */
export function unetForward<T>(cfg: ModelConfig, ops: Ops<T>, params: Params<T>, x: T, t: T, context: T): T {
  const { channels, blocksPerLevel: nres, groups, timeHiddenDim: tdim } = cfg;
  const K = channels.length;
  const scaleShift = cfg.scaleShift === true;
  const ch = (l: number): number => channels[l] ?? 0;
  const att = {
    dk: cfg.text.dim,
    lk: cfg.text.contextLength,
    heads: cfg.attentionHeads,
    groups,
    positions: cfg.attentionPositions === true,
    fourier: cfg.positionInit === "fourier",
  };

  let temb = dense(
    ops,
    params,
    "unet.time.fc1",
    ops.timestepEmbedding(t, cfg.timeEmbedDim),
    cfg.timeEmbedDim,
    tdim,
  );
  if (cfg.textPooling) {
    // Global text signal: the whole encoded prompt [N, L·D] projected into the timestep MLP's hidden layer.
    const flat = cfg.text.contextLength * cfg.text.dim;
    temb = ops.add(temb, dense(ops, params, "unet.text_pool", ops.reshape(context, [-1, flat]), flat, tdim));
  }
  temb = dense(ops, params, "unet.time.fc2", ops.silu(temb), tdim, tdim);
  const tembAct = ops.silu(temb); // shared by every ResBlock's projection

  let h = conv(ops, params, "unet.conv_in", x, { cin: 3, cout: ch(0), k: 3 });
  if (cfg.positionEmbedding) {
    // Learned absolute positions [H, W, c₀]; std 0.1 against conv_in's unit-scale output: distinct from step 0, small.
    const init =
      cfg.positionInit === "fourier"
        ? ({ kind: "fourier2d", amplitude: 0.5 } as const)
        : ({ kind: "normal", std: 0.1 } as const);
    const table = param(params, "unet.pos", [cfg.imageSize, cfg.imageSize, ch(0)], init);
    h = ops.addPositions(h, table);
  }
  let cur = ch(0);
  let size = cfg.imageSize;
  const skips: { h: T; c: number }[] = [];
  for (let l = 0; l < K; l++) {
    for (let b = 0; b < nres; b++) {
      h = resBlock(ops, params, `unet.down${l}.res${b}`, h, tembAct, {
        cin: cur,
        cout: ch(l),
        tdim,
        groups,
        scaleShift,
      });
      cur = ch(l);
      if (cfg.attentionLevels.includes(l)) {
        h = crossAttentionBlock(ops, params, `unet.down${l}.attn${b}`, h, context, { ...att, c: cur, size });
      }
    }
    skips.push({ h, c: cur });
    if (l < K - 1) {
      h = conv(ops, params, `unet.down${l}.downsample`, h, { cin: cur, cout: cur, k: 3, stride: 2 });
      size /= 2;
    }
  }

  if (cfg.textLayout) h = ops.add(h, textLayoutMap(cfg, ops, params, context, cur));
  h = resBlock(ops, params, "unet.mid.res0", h, tembAct, { cin: cur, cout: cur, tdim, groups, scaleShift });
  if (cfg.midAttention) {
    h = crossAttentionBlock(ops, params, "unet.mid.attn", h, context, {
      ...att,
      c: cur,
      size: bottleneckSize(cfg),
    });
  }
  h = resBlock(ops, params, "unet.mid.res1", h, tembAct, { cin: cur, cout: cur, tdim, groups, scaleShift });

  for (let l = K - 1; l >= 0; l--) {
    const skip = skips[l];
    if (!skip) throw new Error(`internal: missing skip for level ${l}`);
    h = ops.concatChannels(h, skip.h);
    cur += skip.c;
    for (let b = 0; b < nres; b++) {
      h = resBlock(ops, params, `unet.up${l}.res${b}`, h, tembAct, {
        cin: cur,
        cout: ch(l),
        tdim,
        groups,
        scaleShift,
      });
      cur = ch(l);
      if (cfg.attentionLevels.includes(l)) {
        h = crossAttentionBlock(ops, params, `unet.up${l}.attn${b}`, h, context, { ...att, c: cur, size });
      }
    }
    if (l > 0) {
      h = ops.upsample2x(h);
      size *= 2;
      h = conv(ops, params, `unet.up${l}.upsample`, h, { cin: cur, cout: cur, k: 3 });
    }
  }

  h = ops.silu(groupNorm(ops, params, "unet.out.norm", h, cur, groups));
  const out = conv(ops, params, "unet.out.conv", h, { cin: cur, cout: 3, k: 3, gain: 0.1 });
  if (!cfg.prediction) return out;
  // v-parameterisation: ε̂ = √ᾱ_t·v̂ + √(1−ᾱ_t)·x_t (config.ts `prediction`).
  const { sqrtAlpha, sqrtOneMinusAlpha } = vTables(cfg.prediction.schedule);
  return ops.add(ops.scaleByTimestep(out, t, sqrtAlpha), ops.scaleByTimestep(x, t, sqrtOneMinusAlpha));
}

/**
 * Config `textLayout`: context [N,L,D] → mean over the L tokens → SiLU MLP → a map [N,s,s,c] for the bottleneck. The pool
 * is a [L,1] weight starting at 1/L (learnable, so the model may re-weight tokens); the output layer starts small (gain
 * 0.1), as the layout joins a trained-from-scratch residual stream.
 */
function textLayoutMap<T>(cfg: ModelConfig, ops: Ops<T>, params: Params<T>, context: T, c: number): T {
  const { contextLength: L, dim: D } = cfg.text;
  const s = bottleneckSize(cfg);
  const w = param(params, "unet.layout.pool.w", [L, 1], { kind: "ones" });
  const b = param(params, "unet.layout.pool.b", [1], { kind: "zeros" });
  const pooled = ops.reshape(ops.scale(ops.dense(ops.transpose(context, [0, 2, 1]), w, b), 1 / L), [-1, D]);
  const hidden = ops.silu(dense(ops, params, "unet.layout.fc1", pooled, D, cfg.timeHiddenDim));
  const map = dense(ops, params, "unet.layout.fc2", hidden, cfg.timeHiddenDim, s * s * c, 0.1);
  return ops.sequenceToImage(ops.reshape(map, [-1, s * s, c]), s, s);
}

const vTableCache = new Map<string, { sqrtAlpha: Float32Array; sqrtOneMinusAlpha: Float32Array }>();

/** √ᾱ_t and √(1−ᾱ_t) as float32 tables (from the float32 ᾱ every sampler uses), cached per schedule. */
function vTables(spec: ScheduleSpec): { sqrtAlpha: Float32Array; sqrtOneMinusAlpha: Float32Array } {
  const key = JSON.stringify(spec);
  let v = vTableCache.get(key);
  if (!v) {
    const ab = createSchedule(spec).alphasCumprod;
    v = { sqrtAlpha: ab.map((a) => Math.sqrt(a)), sqrtOneMinusAlpha: ab.map((a) => Math.sqrt(1 - a)) };
    vTableCache.set(key, v);
  }
  return v;
}

/** The whole model (ONNX contract): tokens int [N,L], x [N,H,W,3], t [N] → ε̂ [N,H,W,3]. */
export function modelForward<T>(
  cfg: ModelConfig,
  ops: Ops<T>,
  params: Params<T>,
  inputs: ForwardInputs<T>,
): T {
  const context = textEncoderForward(cfg, ops, params, inputs.tokens);
  return unetForward(cfg, ops, params, inputs.x, inputs.t, context);
}
