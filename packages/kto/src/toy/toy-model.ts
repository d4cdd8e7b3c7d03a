/**
 * The small MLP diffusion model of Diffusion-KTO's toy experiment (Li et al. 2024 §6, Fig. 6): DDPM
 * ε-prediction (Ho et al. 2020) on 2-D points with a sinusoidal timestep embedding, in tfjs so that
 * fine-tuning runs through exactly the objective functions of src/objective/. Points are standardised
 * with the pretraining distribution's mean and scale, so the model sees ≈ N(0, I) data.
 */
import * as tf from "@tensorflow/tfjs";

import { createRng } from "../rng";
import { createSchedule, type NoiseSchedule } from "../schedule";

export type ToyModelConfig = {
  /** Hidden width of each layer. */
  readonly hidden: number;
  /** Hidden layers (each Dense + SiLU, with the timestep embedding added). */
  readonly layers: number;
  /** Sinusoidal timestep embedding size (even). */
  readonly timeDim: number;
  /** Diffusion steps T (linear β schedule 1e-3 … 0.05: ᾱ_T ≈ 0.07 at T = 100). */
  readonly steps: number;
};

export const DEFAULT_TOY_MODEL: ToyModelConfig = { hidden: 64, layers: 3, timeDim: 16, steps: 100 };

/** Parameters by name: `in.{w,b}`, `time{l}.{w,b}`, `h{l}.{w,b}`, `out.{w,b}`. */
export type ToyParams = ReadonlyMap<string, tf.Tensor>;

export function toySchedule(cfg: ToyModelConfig): NoiseSchedule {
  return createSchedule({ kind: "linear", steps: cfg.steps, betaStart: 1e-3, betaEnd: 0.05 });
}

/** Seeded init (LeCun-normal weights, zero biases; zero output layer so the untrained model predicts 0). */
export function initToyParams(cfg: ToyModelConfig, seed: number): Map<string, Float32Array> {
  const rng = createRng(seed, 0x70f);
  const p = new Map<string, Float32Array>();
  const dense = (name: string, fanIn: number, fanOut: number, scale = 1) => {
    p.set(`${name}.w`, rng.fillNormal(new Float32Array(fanIn * fanOut), scale / Math.sqrt(fanIn)));
    p.set(`${name}.b`, new Float32Array(fanOut));
  };
  dense("in", 2, cfg.hidden);
  for (let l = 0; l < cfg.layers; l++) {
    dense(`time${l}`, cfg.timeDim, cfg.hidden);
    if (l > 0) dense(`h${l}`, cfg.hidden, cfg.hidden);
  }
  dense("out", cfg.hidden, 2, 0);
  return p;
}

/** [in, out] of each parameter (biases [out]). */
export function toyParamShape(cfg: ToyModelConfig, name: string): number[] {
  const [layer, kind] = name.split(".");
  const fanIn = layer === "in" ? 2 : layer?.startsWith("time") ? cfg.timeDim : cfg.hidden;
  const fanOut = layer === "out" ? 2 : cfg.hidden;
  return kind === "b" ? [fanOut] : [fanIn, fanOut];
}

/** t [N] (integer steps as float) → sinusoidal embedding [N, timeDim]. */
export function timeEmbedding(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  return tf.tidy(() => {
    const half = dim / 2;
    const freqs = tf.tensor1d(
      Array.from({ length: half }, (_v, i) => Math.exp((-Math.log(1000) * i) / half)),
    );
    const args = tf.mul<tf.Tensor2D>(tf.expandDims(t, 1), tf.expandDims(freqs, 0));
    return tf.concat<tf.Tensor2D>([tf.sin(args), tf.cos(args)], 1);
  });
}

function get(params: ToyParams, name: string): tf.Tensor {
  const p = params.get(name);
  if (!p) throw new Error(`toy model: missing parameter ${name}`);
  return p;
}

/** x_t [N, 2] (standardised), t [N] → ε̂ [N, 2]. */
export function toyForward(
  cfg: ToyModelConfig,
  params: ToyParams,
  xt: tf.Tensor2D,
  t: tf.Tensor1D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const temb = timeEmbedding(t, cfg.timeDim);
    const dense = (x: tf.Tensor2D, name: string) =>
      tf.add<tf.Tensor2D>(tf.matMul(x, get(params, `${name}.w`)), get(params, `${name}.b`));
    let h = dense(xt, "in");
    for (let l = 0; l < cfg.layers; l++) {
      if (l > 0) h = dense(h, `h${l}`);
      h = tf.add<tf.Tensor2D>(h, dense(temb, `time${l}`));
      h = tf.mul<tf.Tensor2D>(h, tf.sigmoid(h)); // SiLU
    }
    return dense(h, "out");
  });
}

/**
 * DDPM ancestral sampling (Ho et al. 2020, Algorithm 2, posterior variance β̃_t): n standardised points
 * float32 [n·2], seeded.
 */
export function sampleToy(cfg: ToyModelConfig, params: ToyParams, n: number, seed: number): Float32Array {
  const schedule = toySchedule(cfg);
  const T = cfg.steps;
  const rng = createRng(seed, 0x5a3);
  let x = tf.tensor2d(rng.fillNormal(new Float32Array(n * 2)), [n, 2]);
  for (let i = T - 1; i >= 0; i--) {
    const beta = schedule.betas[i] ?? 0;
    const alpha = schedule.alphas[i] ?? 1;
    const ab = schedule.alphasCumprod[i] ?? 1;
    const abPrev = i > 0 ? (schedule.alphasCumprod[i - 1] ?? 1) : 1;
    const sigma = Math.sqrt((beta * (1 - abPrev)) / (1 - ab));
    const z = i > 0 ? rng.fillNormal(new Float32Array(n * 2)) : undefined;
    const next = tf.tidy(() => {
      const eps = toyForward(cfg, params, x, tf.fill<tf.Rank.R1>([n], i));
      // μ = (x − β/√(1−ᾱ)·ε̂)/√α
      const mean = tf.div(tf.sub(x, tf.mul(eps, beta / Math.sqrt(1 - ab))), Math.sqrt(alpha));
      return (z ? tf.add(mean, tf.mul(tf.tensor2d(z, [n, 2]), sigma)) : mean) as tf.Tensor2D;
    });
    x.dispose();
    x = next;
  }
  const out = x.dataSync().slice() as Float32Array;
  x.dispose();
  return out;
}
