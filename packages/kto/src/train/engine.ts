/**
 * The gradient engine: one tfjs replica of the model that turns a micro-batch into the loss and
 * the gradient of the objective w.r.t. every trainable parameter, written into a flat float32
 * vector (layout.ts). It runs in-process or inside a worker (worker.ts); the optimizer lives
 * outside tfjs (adam.ts). Tensor hygiene: everything is tidied, so tf.memory().numTensors is
 * unchanged across `compute` calls.
 */
import * as tf from "@tensorflow/tfjs";

import { type SampleStats } from "../objective/batch-metrics";
import { denoisingError } from "../objective/denoising-error";
import { type ModelConfig } from "../model/config";
import { tfForward, tfParams } from "../tf/tf-ops";
import { type ParamLayout } from "./layout";
import { type MicroBatch } from "./batch";
import { type Objective, type ObjectiveOptions } from "./objective";

let engineSerial = 0; // tfjs variable names are global to the engine; keep replicas apart

export class GradientEngine {
  private readonly policy = new Map<string, tf.Tensor>();
  private readonly reference?: Map<string, tf.Tensor>;
  private readonly trainableVars: tf.Variable[] = [];
  private disposed = false;

  /** weights, reference: flat float32 [P] in `layout` order (copied). */
  constructor(
    private readonly cfg: ModelConfig,
    private readonly layout: ParamLayout,
    weights: Float32Array,
    private readonly objective: Objective,
    private readonly objectiveOptions: ObjectiveOptions = {},
    reference?: Float32Array,
    /** Train the classifier-free-guided prediction ε_u + w·(ε_c − ε_u) (TrainOptions.guidanceScale); 1 = off. */
    private readonly guidance = 1,
  ) {
    layout.names.forEach((name, i) => {
      const init = this.slice(weights, i);
      if (layout.trainable[i]) {
        const v = tf.variable(init, true, `${name}@${engineSerial}`);
        init.dispose();
        this.policy.set(name, v);
        this.trainableVars.push(v);
      } else {
        this.policy.set(name, init);
      }
    });
    engineSerial++;
    // Without reference weights, micro-batches must carry ε_ref (computed elsewhere, e.g. ONNX Runtime).
    if (objective.needsReference && reference) {
      this.reference = new Map(layout.names.map((name, i) => [name, this.slice(reference, i)]));
    }
  }

  private slice(flat: Float32Array, i: number): tf.Tensor {
    const off = this.layout.offsets[i] ?? 0;
    // slice() copies: the cpu backend would otherwise alias the caller's (possibly shared) buffer.
    return tf.tensor(
      flat.slice(off, off + (this.layout.sizes[i] ?? 0)),
      [...(this.layout.shapes[i] ?? [])],
      "float32",
    );
  }

  /** Loads the trainable parameters from flat [P] (the optimizer's master copy). */
  setWeights(flat: Float32Array): void {
    this.layout.names.forEach((name, i) => {
      if (!this.layout.trainable[i]) return;
      const v = this.policy.get(name) as tf.Variable;
      const t = this.slice(flat, i);
      v.assign(t);
      t.dispose();
    });
  }

  /**
   * Loss (mean over the micro-batch) and its gradient, written into `gradsOut` [P] (frozen
   * ranges zeroed), plus the per-sample errors the step metrics are computed from. Synchronous;
   * the loss is a JS number (possibly NaN). `options` overrides the objective options for this call
   * (the loop passes a whole-batch reference point z this way).
   */
  compute(
    mb: MicroBatch,
    gradsOut: Float32Array,
    options: ObjectiveOptions = this.objectiveOptions,
  ): { loss: number; stats: SampleStats } {
    if (this.disposed) throw new Error("GradientEngine used after dispose()");
    let kept: tf.Tensor4D | undefined;
    const result = tf.tidy(() => {
      const { tokens, xt, t, eps, labels, epsRef, sampleWeights } = this.batchTensors(mb);
      const { value, grads } = tf.variableGrads(() => {
        const epsPolicy = this.predict(tfParams(this.policy), tokens, xt, t);
        kept = tf.keep(epsPolicy); // outlives the gradient scope: the per-sample stats are read from it
        return this.objective.loss(
          {
            epsPolicy,
            eps,
            t,
            ...(epsRef ? { epsRef } : {}),
            ...(labels ? { labels } : {}),
            ...(sampleWeights ? { sampleWeights } : {}),
          },
          options,
        );
      }, this.trainableVars);
      return { value, grads, stats: this.statsTensors(eps, kept as tf.Tensor4D, epsRef) };
    });
    kept?.dispose();
    gradsOut.fill(0);
    try {
      const loss = result.value.dataSync()[0] ?? Number.NaN;
      this.layout.names.forEach((name, i) => {
        if (!this.layout.trainable[i]) return;
        const v = this.policy.get(name) as tf.Variable;
        const g = result.grads[v.name];
        if (g) gradsOut.set(g.dataSync(), this.layout.offsets[i]);
      });
      return { loss, stats: readStats(result.stats) };
    } finally {
      result.value.dispose();
      for (const g of Object.values(result.grads)) g.dispose();
    }
  }

  /**
   * Forward only: per-sample errors of the policy (and the reference) on a micro-batch — what the loop
   * needs before the gradient pass to compute a whole-batch reference point.
   */
  sampleStats(mb: MicroBatch): SampleStats {
    if (this.disposed) throw new Error("GradientEngine used after dispose()");
    const stats = tf.tidy(() => {
      const { tokens, xt, t, eps, epsRef } = this.batchTensors(mb);
      return this.statsTensors(eps, this.predict(tfParams(this.policy), tokens, xt, t), epsRef);
    });
    return readStats(stats);
  }

  private statsTensors(
    eps: tf.Tensor4D,
    epsPolicy: tf.Tensor4D,
    epsRef: tf.Tensor4D | undefined,
  ): { errPolicy: tf.Tensor1D; errRef?: tf.Tensor1D; drift?: tf.Tensor1D } {
    const errPolicy = denoisingError(eps, epsPolicy);
    if (!epsRef) return { errPolicy };
    return { errPolicy, errRef: denoisingError(eps, epsRef), drift: denoisingError(epsRef, epsPolicy) };
  }

  /** A micro-batch's arrays as tensors (+ ε_ref when the objective needs it); call inside tf.tidy. */
  private batchTensors(mb: MicroBatch) {
    const { cfg } = this;
    const s = cfg.imageSize;
    const B = mb.size;
    const tokens = tf.tensor2d(mb.tokens, [B, cfg.text.contextLength], "int32");
    const xt = tf.tensor4d(mb.xt, [B, s, s, 3]);
    const t = tf.tensor1d(mb.t);
    const eps = tf.tensor4d(mb.eps, [B, s, s, 3]);
    const labels = mb.labels ? tf.tensor1d(mb.labels) : undefined;
    const epsRef = this.referencePrediction(mb, tokens, xt, t);
    const sampleWeights = mb.sampleWeights ? tf.tensor1d(mb.sampleWeights) : undefined;
    return { tokens, xt, t, eps, labels, epsRef, sampleWeights };
  }

  /** The objective on a micro-batch without gradients (held-out evaluation). */
  evaluate(mb: MicroBatch): number {
    const value = tf.tidy(() => {
      const { tokens, xt, t, eps, labels, epsRef, sampleWeights } = this.batchTensors(mb);
      const epsPolicy = this.predict(tfParams(this.policy), tokens, xt, t);
      return this.objective.loss(
        {
          epsPolicy,
          eps,
          t,
          ...(epsRef ? { epsRef } : {}),
          ...(labels ? { labels } : {}),
          ...(sampleWeights ? { sampleWeights } : {}),
        },
        this.objectiveOptions,
      );
    });
    const loss = value.dataSync()[0] ?? Number.NaN;
    value.dispose();
    return loss;
  }

  /** ε_ref [B,H,W,3] when the objective needs it: shipped with the batch, else the frozen reference's forward. */
  private referencePrediction(
    mb: MicroBatch,
    tokens: tf.Tensor2D,
    xt: tf.Tensor4D,
    t: tf.Tensor1D,
  ): tf.Tensor4D | undefined {
    if (!this.objective.needsReference) return undefined;
    const s = this.cfg.imageSize;
    if (mb.epsRef) return tf.tensor4d(mb.epsRef, [mb.size, s, s, 3]);
    if (!this.reference)
      throw new Error(`objective "${this.objective.name}" needs reference weights or a reference predictor`);
    return this.predict(tfParams(this.reference), tokens, xt, t);
  }

  /** The model's ε prediction, or with guidance w ≠ 1 the guided one: one forward over [caption rows; all-pad rows]. */
  private predict(
    params: ReturnType<typeof tfParams>,
    tokens: tf.Tensor2D,
    xt: tf.Tensor4D,
    t: tf.Tensor1D,
  ): tf.Tensor4D {
    if (this.guidance === 1) return tfForward(this.cfg, params, tokens, xt, t);
    const both = tfForward(
      this.cfg,
      params,
      tf.concat([tokens, tf.zerosLike(tokens)]),
      tf.concat([xt, xt]),
      tf.concat([t, t]),
    );
    const [c, u] = tf.split(both, 2) as [tf.Tensor4D, tf.Tensor4D];
    return tf.add(u, tf.mul(this.guidance, tf.sub(c, u)));
  }

  /** Current weights (all parameters) as a flat float32 vector [P]. */
  readWeights(): Float32Array {
    const flat = new Float32Array(this.layout.total);
    this.layout.names.forEach((name, i) => {
      const t = this.policy.get(name);
      if (t) flat.set(t.dataSync(), this.layout.offsets[i]);
    });
    return flat;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.policy.values()) t.dispose();
    for (const t of this.reference?.values() ?? []) t.dispose();
  }
}

/** Per-sample stat tensors → arrays (disposes the tensors). */
function readStats(t: { errPolicy: tf.Tensor1D; errRef?: tf.Tensor1D; drift?: tf.Tensor1D }): SampleStats {
  try {
    return {
      errPolicy: t.errPolicy.dataSync() as Float32Array,
      ...(t.errRef ? { errRef: t.errRef.dataSync() as Float32Array } : {}),
      ...(t.drift ? { drift: t.drift.dataSync() as Float32Array } : {}),
    };
  } finally {
    t.errPolicy.dispose();
    t.errRef?.dispose();
    t.drift?.dispose();
  }
}
