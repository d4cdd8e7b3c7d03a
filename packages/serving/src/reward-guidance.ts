/**
 * Reward guidance: sample an aligned model version with its alignment scaled at decoding time,
 *   ε = ε_ref + w·(ε_θ − ε_ref),
 * ε_θ the aligned version's prediction and ε_ref its parent's (the round's frozen reference), on the same x_t, t and
 * prompt. Diffusion-KTO and Diffusion-DPO fit πθ towards πref·exp(r/β); ε_θ − ε_ref is −σ_t times the score of
 * log πθ/πref, the implicit reward over β, so w scales that reward: w = 0 is the parent, w = 1 the version as trained,
 * w > 1 the same reward at β/w without retraining — the diffusion counterpart of decoding-time realignment (Liu et
 * al. 2024, for language models) and the same extrapolation classifier-free guidance makes between the conditional and
 * the unconditional prediction (like it, exact only at w ∈ {0, 1}: noised densities do not multiply). Every step runs
 * both models, so sampling costs two forwards.
 */
import { ServingError } from "./errors";
import { type ForwardInput } from "./model-host";
import { type Denoiser, type DiffusionModel } from "./sampler";

/** Largest accepted weight: beyond it the extrapolation leaves any range a fine-tune was checked in. */
export const MAX_REWARD_GUIDANCE = 20;

/** ε_ref + w·(ε_θ − ε_ref) as a Denoiser; throws INVALID_REQUEST for a bad weight, CONTRACT_MISMATCH for unequal shapes. */
export function rewardGuidedDenoiser(reference: Denoiser, policy: Denoiser, weight: number): Denoiser {
  if (!(Number.isFinite(weight) && weight >= 0 && weight <= MAX_REWARD_GUIDANCE))
    throw new ServingError(
      "INVALID_REQUEST",
      `reward guidance weight must be a number in [0, ${MAX_REWARD_GUIDANCE}], got ${weight}`,
    );
  const a = reference.shape;
  const b = policy.shape;
  if (a.imageSize !== b.imageSize || a.contextLength !== b.contextLength)
    throw new ServingError(
      "CONTRACT_MISMATCH",
      `reward guidance needs one shape: reference ${a.imageSize}px / context ${a.contextLength}, policy ${b.imageSize}px / context ${b.contextLength}`,
    );
  return {
    shape: a,
    async forward(input: ForwardInput): Promise<Float32Array> {
      // One after the other: each session already uses the machine's cores.
      const ref = await reference.forward(input);
      const pol = await policy.forward(input);
      const out = new Float32Array(ref.length);
      for (let i = 0; i < out.length; i++) {
        const r = ref[i] ?? 0;
        out[i] = r + weight * ((pol[i] ?? 0) - r);
      }
      return out;
    },
  };
}

/**
 * An aligned version sampled with reward guidance against its parent: the policy's tokenizer and manifest (its id
 * suffixed `@w<weight>`), the composite denoiser. Both must share the vocabulary and the noise schedule (a version and
 * its parent always do); otherwise CONTRACT_MISMATCH.
 */
export function rewardGuidedModel<
  M extends DiffusionModel & { manifest: { id: string; vocab: readonly string[] } },
>(reference: M, policy: M, weight: number): Omit<M, "host"> & { host: Denoiser } {
  const host = rewardGuidedDenoiser(reference.host, policy.host, weight);
  const sameVocab =
    reference.manifest.vocab.length === policy.manifest.vocab.length &&
    reference.manifest.vocab.every((w, i) => w === policy.manifest.vocab[i]);
  const ra = reference.alphasCumprod;
  const pa = policy.alphasCumprod;
  let sameSchedule = ra.length === pa.length;
  for (let i = 0; sameSchedule && i < ra.length; i++) sameSchedule = ra[i] === pa[i];
  if (!sameVocab || !sameSchedule)
    throw new ServingError(
      "CONTRACT_MISMATCH",
      `reward guidance between ${policy.manifest.id} and ${reference.manifest.id}: ${sameVocab ? "" : "vocabularies differ"}${!sameVocab && !sameSchedule ? "; " : ""}${sameSchedule ? "" : "noise schedules differ"}`,
    );
  return { ...policy, host, manifest: { ...policy.manifest, id: `${policy.manifest.id}@w${weight}` } };
}
