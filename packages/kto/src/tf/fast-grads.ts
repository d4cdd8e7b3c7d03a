/**
 * Fast gradients for training on the tfjs wasm backend (platform notes §1–2): wasm has no
 * Conv2DBackpropFilter, its stock conv input-gradient and transposed matMul kernels are slow,
 * and gather/stridedSlice/einsum gradients are missing. Every backward here is built from
 * forward kernels that run on XNNPACK: conv dW and dX as forward convolutions, matMul gradients
 * as explicit transposes + plain matMul, nearest-upsample gradient as 4·avgPool, embedding
 * lookup as oneHot·matMul, concat gradient as slices. All tensors are NHWC.
 */
import * as tf from "@tensorflow/tfjs";

type Grad = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
type GradBody = (...args: (tf.Tensor | ((ts: tf.Tensor[]) => void))[]) => {
  value: tf.Tensor;
  gradFunc: Grad;
};

// safe because: tf.customGrad's CustomGradientFunc is typed over `Tensor[]` varargs plus a trailing
// save callback; our bodies take exactly that, but strictFunctionTypes cannot see it.
const customGrad = <A extends tf.Tensor[]>(
  f: (...args: [...A, (ts: tf.Tensor[]) => void]) => { value: tf.Tensor; gradFunc: Grad },
) =>
  tf.customGrad(f as unknown as GradBody as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    ...args: A
  ) => tf.Tensor;

const at = (s: readonly number[], i: number): number => {
  const d = s[i];
  if (d === undefined) throw new Error(`internal: axis ${i} of [${s.join(",")}]`);
  return d;
};

/** Plain-matMul product of 2-D a·b with explicit-transpose gradients. a [m,k], b [k,n] → [m,n]. */
export const matMul2dFast = customGrad<[tf.Tensor2D, tf.Tensor2D]>((a, b, save) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy, [sa, sb]) => {
      if (!sa || !sb) throw new Error("internal: matMul2dFast lost its inputs");
      return [tf.matMul(dy, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy)];
    },
  };
});

/** Batched product with explicit-transpose gradients. a [...,m,k], b [...,k,n] (same leading dims) → [...,m,n]. */
export const matMulFast = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
  a.rank === 2 ? matMul2dFast(a as tf.Tensor2D, b as tf.Tensor2D) : batchedMatMul(a, b);

const swapLast = (r: number): number[] => [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];

const batchedMatMul = customGrad<[tf.Tensor, tf.Tensor]>((a, b, save) => {
  save([a, b]);
  const mm = (x: tf.Tensor, y: tf.Tensor): tf.Tensor => tf.matMul(x, y);
  return {
    value: mm(a, b),
    gradFunc: (dy, [sa, sb]) => {
      if (!sa || !sb) throw new Error("internal: matMulFast lost its inputs");
      const p = swapLast(sa.rank);
      return [mm(dy, tf.transpose(sb, p)), mm(tf.transpose(sa, p), dy)];
    },
  };
});

/**
 * conv2d with forward-conv gradients. x [N,H,W,Cin], w [k,k,Cin,Cout], symmetric zero pad,
 * stride 1 or 2 → [N,Ho,Wo,Cout], Ho = floor((H + 2·pad − k)/stride) + 1.
 */
export function conv2dFast(x: tf.Tensor4D, w: tf.Tensor4D, stride: 1 | 2, pad: number): tf.Tensor4D {
  const k = at(w.shape, 0);
  if (k === 1 && stride === 1 && pad === 0) return conv1x1(x, w) as tf.Tensor4D;
  return makeConv(stride, pad)(x, w) as tf.Tensor4D;
}

const biasConvCache = new Map<string, (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

/**
 * conv2dFast plus a bias, fused into one FusedConv2D kernel in the forward; db = Σ dy over N,H,W.
 * x [N,H,W,Cin], w [k,k,Cin,Cout], b [Cout] → [N,Ho,Wo,Cout].
 */
export function conv2dBiasFast(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D,
  stride: 1 | 2,
  pad: number,
): tf.Tensor4D {
  const k = at(w.shape, 0);
  if (k === 1 && stride === 1 && pad === 0) return tf.add(conv1x1(x, w), b);
  const key = `${stride}:${pad}`;
  let fn = biasConvCache.get(key);
  if (!fn) {
    const pads: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [pad, pad],
      [pad, pad],
      [0, 0],
    ];
    fn = customGrad<[tf.Tensor, tf.Tensor, tf.Tensor]>((xs, ws, bs, save) => {
      save([xs, ws]);
      return {
        value: tf.fused.conv2d({
          x: xs as tf.Tensor4D,
          filter: ws as tf.Tensor4D,
          strides: stride,
          pad: pads,
          bias: bs,
        }),
        gradFunc: (dy, [sx, sw]) => {
          if (!sx || !sw) throw new Error("internal: conv2dBiasFast lost its inputs");
          const [dX, dW] = convBackward(dy as tf.Tensor4D, sx as tf.Tensor4D, sw as tf.Tensor4D, stride, pad);
          return [dX, dW, tf.sum(dy, [0, 1, 2])];
        },
      };
    });
    biasConvCache.set(key, fn);
  }
  return fn(x, w, b) as tf.Tensor4D;
}

const convCache = new Map<string, (x: tf.Tensor, w: tf.Tensor) => tf.Tensor>();

function makeConv(s: 1 | 2, p: number): (x: tf.Tensor, w: tf.Tensor) => tf.Tensor {
  const key = `${s}:${p}`;
  const cached = convCache.get(key);
  if (cached) return cached;
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
  const fn = customGrad<[tf.Tensor, tf.Tensor]>((x, w, save) => {
    save([x, w]);
    return {
      value: tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pads),
      gradFunc: (dy, [sx, sw]) => {
        if (!sx || !sw) throw new Error("internal: conv2dFast lost its inputs");
        return convBackward(dy as tf.Tensor4D, sx as tf.Tensor4D, sw as tf.Tensor4D, s, p);
      },
    };
  });
  convCache.set(key, fn);
  return fn;
}

/** Backward of conv2d(x, w, stride s, symmetric pad p) as forward convolutions: dy [N,Ho,Wo,Cout] → [dX, dW]. */
function convBackward(
  dy: tf.Tensor4D,
  sx: tf.Tensor4D,
  sw: tf.Tensor4D,
  s: 1 | 2,
  p: number,
): [tf.Tensor, tf.Tensor] {
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
  const [n, h, wd, cin] = sx.shape;
  const k = at(sw.shape, 0);
  const cout = at(sw.shape, 3);
  const [, ho, wo] = dy.shape;
  // dW: swap batch and channels so the reduction over (N, Ho, Wo) is a forward conv with dy as
  // the filter, dilated by the stride; the output may exceed k (floor in Ho) and is cropped.
  const xT = tf.transpose(p > 0 ? tf.pad(sx, pads) : sx, [3, 1, 2, 0]); // [Cin,Hp,Wp,N]
  const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [Ho,Wo,N,Cout]
  let dw = tf.conv2d(xT, dyT, 1, "valid", "NHWC", [s, s]); // [Cin,≥k,≥k,Cout]
  if (dw.shape[1] !== k || dw.shape[2] !== k) dw = tf.slice(dw, [0, 0, 0, 0], [cin, k, k, cout]);
  const dW = tf.transpose(dw, [1, 2, 0, 3]);
  // dX: zero-insert dy for stride 2 (reshape + pad, rank 4 only), then a full correlation
  // with the spatially flipped, in/out-swapped kernel.
  let dz: tf.Tensor4D = dy;
  let len = ho;
  let lenW = wo;
  if (s === 2) {
    dz = tf.reshape(
      tf.pad(tf.reshape(dz, [n * ho, wo, 1, cout]), [
        [0, 0],
        [0, 0],
        [0, 1],
        [0, 0],
      ]),
      [n, ho, 2 * wo, cout],
    );
    dz = tf.reshape(
      tf.pad(tf.reshape(dz, [n, ho, 1, 2 * wo * cout]), [
        [0, 0],
        [0, 0],
        [0, 1],
        [0, 0],
      ]),
      [n, 2 * ho, 2 * wo, cout],
    );
    len = 2 * ho;
    lenW = 2 * wo;
  }
  const wRev = flipKernel(sw); // [k,k,Cout,Cin]
  const front = k - 1 - p;
  const backH = h + k - 1 - front - len;
  const backW = wd + k - 1 - front - lenW;
  if (front < 0) throw new Error(`conv2dFast: pad ${p} > kernel ${k} − 1 is not supported`);
  if (backH < 0 || backW < 0)
    dz = tf.slice(dz, [0, 0, 0, 0], [n, len + Math.min(backH, 0), lenW + Math.min(backW, 0), cout]);
  const dX = tf.conv2d(dz, wRev, 1, [
    [0, 0],
    [front, Math.max(backH, 0)],
    [front, Math.max(backW, 0)],
    [0, 0],
  ]);
  return [dX, dW];
}

/**
 * The dX kernel: spatially flipped, in/out-swapped w. w [k,k,Cin,Cout] → [k,k,Cout,Cin].
 * On wasm/cpu a JS loop over the (small) kernel beats tf.reverse, whose wasm kernel costs ~5 %
 * of a training step; elsewhere (GPU) it stays on-device.
 */
function flipKernel(w: tf.Tensor4D): tf.Tensor4D {
  const backend = tf.getBackend();
  if (backend !== "wasm" && backend !== "cpu") return tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
  const [k, , cin, cout] = w.shape;
  const src = w.dataSync();
  const dst = new Float32Array(src.length);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      const from = ((k - 1 - i) * k + (k - 1 - j)) * cin * cout;
      const to = (i * k + j) * cout * cin;
      for (let c = 0; c < cin; c++)
        for (let o = 0; o < cout; o++) dst[to + o * cin + c] = src[from + c * cout + o] ?? 0;
    }
  return tf.tensor4d(dst, [k, k, cout, cin]);
}

/** 1×1 stride-1 conv as a matMul over pixels, with matMul gradients. x [N,H,W,Cin], w [1,1,Cin,Cout] → [N,H,W,Cout]. */
function conv1x1(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor {
  const [n, h, wd, cin] = x.shape;
  const cout = at(w.shape, 3);
  const y = matMul2dFast(tf.reshape(x, [n * h * wd, cin]), tf.reshape(w, [cin, cout]));
  return tf.reshape(y, [n, h, wd, cout]);
}

/** Nearest 2× upsample with the analytic gradient 4·avgPool₂ₓ₂(dy) (backend-independent). x [N,H,W,C] → [N,2H,2W,C]. */
export const upsample2xFast = customGrad<[tf.Tensor]>((x, _save) => {
  const [, h, w] = x.shape as [number, number, number, number];
  return {
    value: tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [2 * h, 2 * w]),
    gradFunc: (dy) => tf.mul(tf.avgPool(dy as tf.Tensor4D, 2, 2, "valid"), 4),
  };
});

/** Channel concat whose gradient is two slices (the stock SplitV gradient is slow on wasm). [N,H,W,Ca],[N,H,W,Cb] → [N,H,W,Ca+Cb]. */
export const concatChannelsFast = customGrad<[tf.Tensor, tf.Tensor]>((a, b, _save) => {
  const ca = at(a.shape, 3);
  const cb = at(b.shape, 3);
  return {
    value: tf.concat([a, b], 3),
    gradFunc: (dy) => {
      const [n, h, w] = dy.shape as [number, number, number, number];
      return [tf.slice(dy, [0, 0, 0, 0], [n, h, w, ca]), tf.slice(dy, [0, 0, 0, ca], [n, h, w, cb])];
    },
  };
});

/** Embedding lookup as oneHot·table (the gather gradient needs UnsortedSegmentSum, missing on wasm). ids int32 [N,L], table [V,D] → [N,L,D]. */
export function embeddingFast(ids: tf.Tensor2D, table: tf.Tensor2D): tf.Tensor3D {
  const [n, l] = ids.shape;
  const [v, d] = table.shape;
  const oneHot = tf.cast(tf.oneHot(tf.reshape(ids, [n * l]), v), "float32") as tf.Tensor2D;
  return tf.reshape(matMul2dFast(oneHot, table), [n, l, d]);
}

const gnCache = new Map<string, (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor>();

/**
 * GroupNorm with a hand-written backward (Wu & He 2018): fewer, larger kernels than autodiff
 * through tf.moments. x [N,H,W,C], gamma/beta [C], groups | C → [N,H,W,C].
 * Backward: dx = rstd·(dx̂ − mean_g(dx̂) − x̂·mean_g(dx̂·x̂)), dx̂ = dy·γ; dγ = Σ dy·x̂; dβ = Σ dy.
 */
export function groupNormFast(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  eps: number,
): tf.Tensor4D {
  const key = `${groups}:${eps}`;
  let fn = gnCache.get(key);
  if (!fn) {
    fn = customGrad<[tf.Tensor, tf.Tensor, tf.Tensor]>((xs, g, b, save) => {
      const [n, h, w, c] = xs.shape as [number, number, number, number];
      const cg = c / groups;
      const grouped: [number, number, number, number] = [n, h * w, groups, cg];
      /** Mean over each (example, group): NHWC → [N,1,G,1]. */
      const groupMean = (t: tf.Tensor): tf.Tensor => tf.mean(tf.reshape(t, grouped), [1, 3], true);
      // Per-group stats expanded to per-channel [N,1,1,C]: wasm broadcasts a trailing channel axis on its
      // fast path, but a [N,1,G,1] operand against [N,HW,G,Cg] about 2× slower.
      const perChannel = (t: tf.Tensor): tf.Tensor => tf.reshape(tf.tile(t, [1, 1, 1, cg]), [n, 1, 1, c]);
      const centered = tf.sub(xs, perChannel(groupMean(xs)));
      const rstd = perChannel(tf.rsqrt(tf.add(groupMean(tf.square(centered)), eps))); // eps inside the sqrt
      const xhat = tf.mul(centered, rstd);
      save([xhat, rstd, g]);
      return {
        value: tf.add(tf.mul(xhat, g), b),
        gradFunc: (dy, [sxhat, srstd, sg]) => {
          if (!sxhat || !srstd || !sg) throw new Error("internal: groupNormFast lost its saved tensors");
          const dbeta = tf.sum(dy, [0, 1, 2]);
          const dgamma = tf.sum(tf.mul(dy, sxhat), [0, 1, 2]);
          const dxhat = tf.mul(dy, sg);
          const m1 = perChannel(groupMean(dxhat));
          const m2 = perChannel(groupMean(tf.mul(dxhat, sxhat)));
          const dx = tf.mul(tf.sub(tf.sub(dxhat, m1), tf.mul(sxhat, m2)), srstd);
          return [dx, dgamma, dbeta];
        },
      };
    });
    gnCache.set(key, fn);
  }
  return fn(x, gamma, beta) as tf.Tensor4D;
}

/** SiLU x·σ(x) with the closed-form gradient σ(x)·(1 + x·(1 − σ(x))). Any shape → same shape. */
export const siluFast = customGrad<[tf.Tensor]>((x, save) => {
  const s = tf.sigmoid(x);
  save([x, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy, [sx, ss]) => {
      if (!sx || !ss) throw new Error("internal: siluFast lost its saved tensors");
      return tf.mul(dy, tf.mul(ss, tf.add(tf.mul(sx, tf.sub(1, ss)), 1)));
    },
  };
});
