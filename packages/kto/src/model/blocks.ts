/**
 * Building blocks shared by the UNet and the text encoder, written once against `Ops<T>`:
 * the DDPM ResBlock with timestep conditioning (Ho et al. 2020), scaled dot-product multi-head
 * attention (Vaswani et al. 2017) and its spatial cross-attention form (Rombach et al. 2022).
 */
import { NORM_EPS } from "./config";
import { type ParamDecl, type ParamInit, type Ops, type Params } from "./ops";

const ZEROS: ParamInit = { kind: "zeros" };
const ONES: ParamInit = { kind: "ones" };
/** LeCun-normal: std = 1/sqrt(fan-in), times an optional gain. */
const lecun = (fanIn: number, gain = 1): ParamInit => ({ kind: "normal", std: gain / Math.sqrt(fanIn) });

/** Declares one parameter and fetches its handle. */
export function param<T>(params: Params<T>, name: string, shape: readonly number[], init: ParamInit): T {
  const decl: ParamDecl = { name, shape, init };
  return params.get(decl);
}

/** Conv layer `${name}.w` [k,k,cin,cout] + `${name}.b` [cout]: image [N,H,W,cin] → [N,H',W',cout]. */
export function conv<T>(
  ops: Ops<T>,
  params: Params<T>,
  name: string,
  x: T,
  o: { cin: number; cout: number; k: 1 | 3; stride?: 1 | 2; gain?: number },
): T {
  const w = param(params, `${name}.w`, [o.k, o.k, o.cin, o.cout], lecun(o.k * o.k * o.cin, o.gain));
  const b = param(params, `${name}.b`, [o.cout], ZEROS);
  return ops.conv2d(x, w, b, { stride: o.stride ?? 1, pad: o.k === 3 ? 1 : 0 });
}

/** Dense layer `${name}.w` [din,dout] + `${name}.b` [dout]: [...,din] → [...,dout]. */
export function dense<T>(
  ops: Ops<T>,
  params: Params<T>,
  name: string,
  x: T,
  din: number,
  dout: number,
  gain = 1,
): T {
  const w = param(params, `${name}.w`, [din, dout], lecun(din, gain));
  const b = param(params, `${name}.b`, [dout], ZEROS);
  return ops.dense(x, w, b);
}

/** GroupNorm `${name}.gamma/.beta` [c]: image → image. */
export function groupNorm<T>(
  ops: Ops<T>,
  params: Params<T>,
  name: string,
  x: T,
  c: number,
  groups: number,
): T {
  const gamma = param(params, `${name}.gamma`, [c], ONES);
  const beta = param(params, `${name}.beta`, [c], ZEROS);
  return ops.groupNorm(x, gamma, beta, groups, NORM_EPS);
}

/** LayerNorm `${name}.gamma/.beta` [d]: sequence [N,L,d] → [N,L,d]. */
export function layerNorm<T>(ops: Ops<T>, params: Params<T>, name: string, x: T, d: number): T {
  const gamma = param(params, `${name}.gamma`, [d], ONES);
  const beta = param(params, `${name}.beta`, [d], ZEROS);
  return ops.layerNorm(x, gamma, beta, NORM_EPS);
}

/**
 * ResBlock: GN → SiLU → conv3×3 → (+ Dense(SiLU(temb))) → GN → SiLU → conv3×3, plus a 1×1
 * skip conv when cin ≠ cout. x image [N,H,W,cin], tembAct vector [N,tdim] (already SiLU'd) →
 * image [N,H,W,cout].
 */
export function resBlock<T>(
  ops: Ops<T>,
  params: Params<T>,
  name: string,
  x: T,
  tembAct: T,
  o: { cin: number; cout: number; tdim: number; groups: number; scaleShift?: boolean },
): T {
  let h = ops.silu(groupNorm(ops, params, `${name}.norm1`, x, o.cin, o.groups));
  h = conv(ops, params, `${name}.conv1`, h, { cin: o.cin, cout: o.cout, k: 3 });
  if (o.scaleShift) {
    // AdaGN: GN(h)·(1 + s) + b with s, b from the embedding; s starts at 0 (zero-initialised), so step 0 is shift-only.
    const s = param(params, `${name}.temb_scale.w`, [o.tdim, o.cout], ZEROS);
    const sb = param(params, `${name}.temb_scale.b`, [o.cout], ZEROS);
    const shift = dense(ops, params, `${name}.temb`, tembAct, o.tdim, o.cout);
    const hn = groupNorm(ops, params, `${name}.norm2`, h, o.cout, o.groups);
    h = ops.silu(ops.addChannels(ops.add(hn, ops.mulChannels(hn, ops.dense(tembAct, s, sb))), shift));
  } else {
    h = ops.addChannels(h, dense(ops, params, `${name}.temb`, tembAct, o.tdim, o.cout));
    h = ops.silu(groupNorm(ops, params, `${name}.norm2`, h, o.cout, o.groups));
  }
  // Small gain on the residual branch's last conv keeps the initial block close to identity.
  h = conv(ops, params, `${name}.conv2`, h, { cin: o.cout, cout: o.cout, k: 3, gain: 0.1 });
  const skip =
    o.cin === o.cout ? x : conv(ops, params, `${name}.skip`, x, { cin: o.cin, cout: o.cout, k: 1 });
  return ops.add(skip, h);
}

/**
 * Multi-head scaled dot-product attention with projections `${name}.q/.k/.v/.o`.
 * query [N,Lq,dq], context [N,Lk,dk] → [N,Lq,width]. No mask: pad tokens are ordinary
 * learned embeddings, so the all-pad (unconditional) prompt is well defined.
 */
export function attention<T>(
  ops: Ops<T>,
  params: Params<T>,
  name: string,
  query: T,
  context: T,
  o: { dq: number; dk: number; width: number; heads: number; lq: number; lk: number },
): T {
  const dh = o.width / o.heads;
  const q = dense(ops, params, `${name}.q`, query, o.dq, o.width);
  const k = dense(ops, params, `${name}.k`, context, o.dk, o.width);
  const v = dense(ops, params, `${name}.v`, context, o.dk, o.width);
  const qh = ops.transpose(ops.reshape(q, [-1, o.lq, o.heads, dh]), [0, 2, 1, 3]); // [N,h,Lq,dh]
  const kt = ops.transpose(ops.reshape(k, [-1, o.lk, o.heads, dh]), [0, 2, 3, 1]); // [N,h,dh,Lk]
  const vh = ops.transpose(ops.reshape(v, [-1, o.lk, o.heads, dh]), [0, 2, 1, 3]); // [N,h,Lk,dh]
  const scores = ops.scale(ops.matMul(qh, kt), 1 / Math.sqrt(dh)); // [N,h,Lq,Lk]
  const out = ops.matMul(ops.softmax(scores), vh); // [N,h,Lq,dh]
  const merged = ops.reshape(ops.transpose(out, [0, 2, 1, 3]), [-1, o.lq, o.width]);
  return dense(ops, params, `${name}.o`, merged, o.width, o.width);
}

/**
 * Spatial cross-attention block: x + attn(GN(x) as tokens, context). x image [N,H,W,c],
 * context [N,L,dk] → image [N,H,W,c].
 */
export function crossAttentionBlock<T>(
  ops: Ops<T>,
  params: Params<T>,
  name: string,
  x: T,
  context: T,
  o: {
    c: number;
    size: number;
    dk: number;
    lk: number;
    heads: number;
    groups: number;
    positions?: boolean;
    fourier?: boolean;
  },
): T {
  let normed = groupNorm(ops, params, `${name}.norm`, x, o.c, o.groups);
  if (o.positions) {
    // A learned position table added to the queries' input after the norm (config `attentionPositions`): where a
    // pixel is stays legible to the attention at high noise, when the features themselves are mostly noise.
    const init: ParamInit = o.fourier ? { kind: "fourier2d", amplitude: 0.5 } : { kind: "normal", std: 0.5 };
    normed = ops.addPositions(normed, param(params, `${name}.pos`, [o.size, o.size, o.c], init));
  }
  const seq = ops.imageToSequence(normed);
  const a = attention(ops, params, name, seq, context, {
    dq: o.c,
    dk: o.dk,
    width: o.c,
    heads: o.heads,
    lq: o.size * o.size,
    lk: o.lk,
  });
  return ops.add(x, ops.sequenceToImage(a, o.size, o.size));
}
