/**
 * Diffusion-KTO utility functions U (Li et al. 2024 §4.1, App. D.4), applied to u = s·β·(g − z):
 * the Kahneman–Tversky sigmoid (the paper's choice: updates shrink at both ends, robust to noisy
 * labels), loss-averse log σ(u) (updates shrink once the reward is high; per-image analogue of DPO)
 * and risk-seeking −log σ(−u) = softplus(u) (updates shrink once the reward is low; SFT-like).
 */
import * as tf from "@tensorflow/tfjs";

import { type Utility } from "./options";

/** u [B] → U(u) [B]. Slopes at u = 0: ¼ (sigmoid), ½ (loss-averse, risk-seeking). */
export function utility(kind: Utility, u: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    switch (kind) {
      case "sigmoid":
        return tf.sigmoid(u);
      case "loss-averse":
        // log σ(u) = −softplus(−u); tf.logSigmoid's custom gradient fails on the wasm backend.
        return tf.neg(tf.softplus(tf.neg(u)));
      case "risk-seeking":
        return tf.softplus(u); // = −log σ(−u), without the log of a tiny sigmoid
    }
  });
}
