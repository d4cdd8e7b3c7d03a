/**
 * Text encoder of the `tiny` family: learned token + position embeddings, `layers` pre-LN
 * transformer blocks (Vaswani et al. 2017) and a final LayerNorm. Its output is the context the
 * UNet cross-attends to. Trained jointly at pretraining, frozen during Diffusion-KTO alignment.
 */
import { attention, dense, layerNorm, param } from "./blocks";
import { type ModelConfig } from "./config";
import { type Ops, type Params } from "./ops";

/** tokens int [N,L] → context sequence [N,L,D] (D = cfg.text.dim). Parameters under `text.`. */
export function textEncoderForward<T>(cfg: ModelConfig, ops: Ops<T>, params: Params<T>, tokens: T): T {
  const { vocabSize: V, contextLength: L, dim: D, layers, heads, mlpRatio } = cfg.text;
  const table = param(params, "text.token_embedding", [V, D], { kind: "normal", std: 0.02 });
  const positions = param(params, "text.position_embedding", [L, D], { kind: "normal", std: 0.02 });
  let h = ops.add(ops.embedding(tokens, table), positions);
  for (let i = 0; i < layers; i++) {
    const p = `text.layer${i}`;
    const a = layerNorm(ops, params, `${p}.ln1`, h, D);
    h = ops.add(
      h,
      attention(ops, params, `${p}.attn`, a, a, { dq: D, dk: D, width: D, heads, lq: L, lk: L }),
    );
    const m = layerNorm(ops, params, `${p}.ln2`, h, D);
    const hidden = ops.silu(dense(ops, params, `${p}.mlp.fc1`, m, D, D * mlpRatio));
    h = ops.add(h, dense(ops, params, `${p}.mlp.fc2`, hidden, D * mlpRatio, D));
  }
  return layerNorm(ops, params, "text.ln_final", h, D);
}
