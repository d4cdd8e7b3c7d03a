/**
 * `TfOps`: the tfjs interpreter of the model definition (NHWC), used for training. Conv, matMul,
 * upsample, concat and embedding go through the fast custom gradients of fast-grads.ts, so the
 * graph avoids every kernel whose wasm gradient is missing, wrong or slow (platform notes §2).
 * Call the forward inside tf.tidy (or a gradient scope): ops allocate intermediate tensors.
 */
import * as tf from "@tensorflow/tfjs";

import { type ModelConfig } from "../model/config";
import { type Ops, type Params } from "../model/ops";
import { paramsFromMap, type WeightMap } from "../model/params";
import { modelForward } from "../model/unet";
import {
  concatChannelsFast,
  conv2dBiasFast,
  embeddingFast,
  groupNormFast,
  matMulFast,
  siluFast,
  upsample2xFast,
} from "./fast-grads";

const dimOf = (t: tf.Tensor, i: number): number => {
  const d = t.shape[i < 0 ? t.rank + i : i];
  if (d === undefined) throw new Error(`internal: axis ${i} of [${t.shape.join(",")}]`);
  return d;
};

/**
 * `stock: true` swaps the custom gradients of conv, matMul, concat, embedding, GroupNorm and SiLU for tfjs's own
 * (the reference in gradient checks; needs a backend that has those kernels, e.g. cpu). The
 * upsample always uses the analytic gradient: cpu's ResizeNearestNeighborGrad is wrong for N > 1.
 */
export class TfOps implements Ops<tf.Tensor> {
  private readonly mm: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  constructor(private readonly options: { stock?: boolean } = {}) {
    this.mm = options.stock ? (a, b) => tf.matMul(a, b) : matMulFast;
  }
  conv2d(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, o: { stride: 1 | 2; pad: number }): tf.Tensor {
    const p = o.pad;
    if (!this.options.stock)
      return conv2dBiasFast(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, o.stride, p);
    return tf.add(
      tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, o.stride, [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ]),
      b,
    );
  }
  dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
    const din = dimOf(w, 0);
    const dout = dimOf(w, 1);
    if (x.rank === 2) return tf.add(this.mm(x, w), b);
    const rows = x.size / din;
    const y = tf.add(this.mm(tf.reshape(x, [rows, din]), w), b);
    return tf.reshape(y, [...x.shape.slice(0, -1), dout]);
  }
  groupNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, groups: number, eps: number): tf.Tensor {
    if (!this.options.stock)
      return groupNormFast(x as tf.Tensor4D, gamma as tf.Tensor1D, beta as tf.Tensor1D, groups, eps);
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const xg = tf.reshape(x, [n, h * w, groups, c / groups]);
    const { mean, variance } = tf.moments(xg, [1, 3], true);
    const normed = tf.mul(tf.sub(xg, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(tf.reshape(normed, [n, h, w, c]), gamma), beta);
  }
  layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
    const { mean, variance } = tf.moments(x, [x.rank - 1], true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
  }
  silu(x: tf.Tensor): tf.Tensor {
    return this.options.stock ? tf.mul(x, tf.sigmoid(x)) : siluFast(x);
  }
  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.add(a, b);
  }
  mul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.mul(a, b);
  }
  scale(x: tf.Tensor, s: number): tf.Tensor {
    return tf.mul(x, s);
  }
  addChannels(x: tf.Tensor, v: tf.Tensor): tf.Tensor {
    return tf.add(x, tf.reshape(v, [dimOf(v, 0), 1, 1, dimOf(v, 1)]));
  }
  mulChannels(x: tf.Tensor, v: tf.Tensor): tf.Tensor {
    return tf.mul(x, tf.reshape(v, [dimOf(v, 0), 1, 1, dimOf(v, 1)]));
  }
  addPositions(x: tf.Tensor, table: tf.Tensor): tf.Tensor {
    return tf.add(x, table); // [N,H,W,C] + [H,W,C]: broadcast over N; the gradient sums over the batch
  }
  concatChannels(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.options.stock ? tf.concat([a, b], 3) : concatChannelsFast(a, b);
  }
  upsample2x(x: tf.Tensor): tf.Tensor {
    return upsample2xFast(x);
  }
  imageToSequence(x: tf.Tensor): tf.Tensor {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    return tf.reshape(x, [n, h * w, c]);
  }
  sequenceToImage(x: tf.Tensor, height: number, width: number): tf.Tensor {
    return tf.reshape(x, [dimOf(x, 0), height, width, dimOf(x, 2)]);
  }
  reshape(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
    return tf.reshape(x, [...shape]);
  }
  transpose(x: tf.Tensor, perm: readonly number[]): tf.Tensor {
    return tf.transpose(x, [...perm]);
  }
  matMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return this.mm(a, b);
  }
  softmax(x: tf.Tensor): tf.Tensor {
    return tf.softmax(x);
  }
  embedding(tokens: tf.Tensor, table: tf.Tensor): tf.Tensor {
    return this.options.stock
      ? tf.gather(table, tokens)
      : embeddingFast(tokens as tf.Tensor2D, table as tf.Tensor2D);
  }
  timestepEmbedding(t: tf.Tensor, dim: number): tf.Tensor {
    const half = dim / 2;
    const freqs = tf.tensor2d(
      Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half)),
      [1, half],
    );
    const args = tf.mul(tf.reshape(t, [dimOf(t, 0), 1]), freqs);
    return tf.concat([tf.sin(args), tf.cos(args)], 1);
  }
  scaleByTimestep(x: tf.Tensor, t: tf.Tensor, table: Float32Array): tf.Tensor {
    // A gather from a constant by integer t: nothing to differentiate but the product with x.
    const s = tf.gather(tf.tensor1d(table, "float32"), tf.cast(t, "int32"));
    return tf.mul(x, tf.reshape(s, [dimOf(x, 0), 1, 1, 1]));
  }
}

export const TF_OPS = new TfOps();

/** Name → tensor map as forward params (shape-checked against each declaration). */
export function tfParams(map: ReadonlyMap<string, tf.Tensor>): Params<tf.Tensor> {
  return paramsFromMap(map, (t) => t.shape);
}

let variableSerial = 0;

/** Creates tf.Variables (trainable as asked) from a weight map; the caller owns and disposes them. */
export function weightsToVariables(
  weights: WeightMap,
  trainable: (name: string) => boolean = () => true,
): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  const serial = ++variableSerial; // tfjs variable names are global to the engine
  for (const [name, w] of weights) {
    const initial = tf.tensor(w.data, [...w.shape], "float32");
    out.set(name, tf.variable(initial, trainable(name), `kto${serial}/${name}`));
    initial.dispose();
  }
  return out;
}

/**
 * The model forward on tfjs: tokens int32 [N,L], x float32 [N,H,W,3], t float32 [N] → ε̂ [N,H,W,3].
 * Allocates intermediates: call inside tf.tidy or a gradient scope.
 */
export function tfForward(
  cfg: ModelConfig,
  params: Params<tf.Tensor>,
  tokens: tf.Tensor2D,
  x: tf.Tensor4D,
  t: tf.Tensor1D,
): tf.Tensor4D {
  return modelForward(cfg, TF_OPS, params, { tokens, x, t }) as tf.Tensor4D;
}
