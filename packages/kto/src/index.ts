// @likewise/kto — the diffusion engine: one model definition, tfjs training, schedules, seeded RNG.
// Curated public entry: named re-exports grouped by heading. `@likewise/kto/schedule` is the tfjs-free subpath.

// Errors
export { KtoError, isKtoError, KTO_ERROR_CODES, type KtoErrorCode } from "./errors";

// Model definition (one forward, several interpreters)
export {
  createModelConfig,
  validateModelConfig,
  DEFAULT_MODEL_CONFIG,
  MODEL_FAMILIES,
  IMAGE_SIZES,
  NORM_EPS,
  type ModelConfig,
  type ModelConfigInput,
  type ModelFamily,
  type ImageSize,
  type TextEncoderConfig,
} from "./model/config";
export type { Ops, Params, ParamDecl, ParamInit, ConvOptions, ForwardInputs } from "./model/ops";
export { modelForward, unetForward } from "./model/unet";
export { textEncoderForward } from "./model/text-encoder";
export { SpecOps, describeModel, type SpecTensor, type FlopCounts, type ModelSpec } from "./model/spec-ops";
export {
  initWeights,
  paramsFromMap,
  checkWeights,
  shapeSize,
  type WeightMap,
  type WeightTensor,
} from "./model/params";

// Tokenizer
export { Tokenizer, buildVocabulary, splitWords, PAD_ID, UNK_ID, PAD_TOKEN, UNK_TOKEN, type Vocabulary } from "./tokenizer";

// Randomness
export { Rng, createRng, splitSeed, type RngState } from "./rng";
