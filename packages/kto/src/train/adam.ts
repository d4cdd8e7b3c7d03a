/**
 * Adam (Kingma & Ba 2015) with bias correction, a linear learning-rate warm-up and global-norm
 * gradient clipping (Pascanu et al. 2013), over the flat parameter vector in plain JS. Keeping the
 * update outside tfjs makes it identical for in-process and data-parallel training, cheap to
 * checkpoint, and bit-reproducible on resume.
 */
import { type ParamLayout } from "./layout";

export type AdamHyper = { readonly beta1: number; readonly beta2: number; readonly epsilon: number };
export const DEFAULT_ADAM: AdamHyper = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

export type AdamState = {
  /** First moment m [P]. */
  readonly m: Float32Array;
  /** Second moment v [P]. */
  readonly v: Float32Array;
  /** Updates applied so far (t in the bias correction). */
  t: number;
};

export const createAdamState = (size: number): AdamState => ({
  m: new Float32Array(size),
  v: new Float32Array(size),
  t: 0,
});

/** Cosine decay after warm-up (Loshchilov & Hutter 2017, without restarts): reaches `finalRatio`·base at `totalSteps`, then stays. */
export type LearningRateDecay = { readonly totalSteps: number; readonly finalRatio: number };

/**
 * Learning rate at optimizer step `step` (1-based): linear warm-up over `warmupSteps`, then constant, or with
 * `decay` a half-cosine from base down to finalRatio·base at decay.totalSteps.
 */
export function learningRateAt(
  step: number,
  base: number,
  warmupSteps: number,
  decay?: LearningRateDecay,
): number {
  if (warmupSteps > 0 && step <= warmupSteps) return (base * step) / warmupSteps;
  if (!decay || decay.totalSteps <= warmupSteps) return base;
  const progress = Math.min(1, (step - warmupSteps) / (decay.totalSteps - warmupSteps));
  return base * (decay.finalRatio + (1 - decay.finalRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Contiguous [start, end) element ranges of the trainable parameters (adjacent ones merged). */
export function trainableRanges(layout: ParamLayout): [number, number][] {
  const out: [number, number][] = [];
  layout.names.forEach((_n, i) => {
    if (!layout.trainable[i]) return;
    const start = layout.offsets[i] ?? 0;
    const end = start + (layout.sizes[i] ?? 0);
    const last = out[out.length - 1];
    if (last && last[1] === start) last[1] = end;
    else out.push([start, end]);
  });
  return out;
}

/** ‖g‖₂ over the trainable ranges of the flat gradient [P]. */
export function globalNorm(layout: ParamLayout, grads: Float32Array): number {
  let s = 0;
  for (const [start, end] of trainableRanges(layout)) {
    for (let j = start; j < end; j++) {
      const g = grads[j] ?? 0;
      s += g * g;
    }
  }
  return Math.sqrt(s);
}

/**
 * One Adam step in place on `params` [P] with gradient `grads` [P], after clipping to `maxNorm`
 * (≤ 0 disables). Returns the pre-clip gradient norm. Frozen ranges are untouched.
 */
export function adamStep(
  layout: ParamLayout,
  params: Float32Array,
  grads: Float32Array,
  state: AdamState,
  o: { learningRate: number; maxNorm: number; hyper?: AdamHyper },
): number {
  const { beta1, beta2, epsilon } = o.hyper ?? DEFAULT_ADAM;
  const norm = globalNorm(layout, grads);
  const clip = o.maxNorm > 0 && norm > o.maxNorm ? o.maxNorm / norm : 1;
  state.t += 1;
  const c1 = 1 - beta1 ** state.t;
  const c2 = 1 - beta2 ** state.t;
  const stepSize = (o.learningRate * Math.sqrt(c2)) / c1;
  const epsHat = epsilon * Math.sqrt(c2); // so the update equals lr·m̂/(sqrt(v̂) + ε), as tf.train.adam
  const { m, v } = state;
  const b1c = 1 - beta1;
  const b2c = 1 - beta2;
  for (const [start, end] of trainableRanges(layout)) {
    for (let j = start; j < end; j++) {
      const g = (grads[j] ?? 0) * clip;
      const mj = beta1 * (m[j] ?? 0) + b1c * g;
      const vj = beta2 * (v[j] ?? 0) + b2c * g * g;
      m[j] = mj;
      v[j] = vj;
      params[j] = (params[j] ?? 0) - (stepSize * mj) / (Math.sqrt(vj) + epsHat);
    }
  }
  return norm;
}
