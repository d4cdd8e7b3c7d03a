// Public surface of @likewise/serving: ONNX Runtime host, DDIM + CFG sampler, tokenizer, PNG.
export { type ArtifactStore, LocalArtifactStore, MODELS_DIR } from "./artifact-store";
export {
  ddimCoefficients,
  ddimStep,
  ddimTimesteps,
  MAX_STEPS,
  MIN_STEPS,
  type DdimCoefficients,
  type TimestepSpacing,
} from "./ddim";
export {
  BLOB_DIR,
  type BlobStore,
  isBlobKey,
  LocalBlobStore,
  type LocalBlobStoreOptions,
} from "./blob-store";
export { isServingError, SERVING_ERROR_CODES, ServingError, type ServingErrorCode } from "./errors";
export { loadModel, modelFromManifest, type LoadedModel } from "./load-model";
export {
  MANIFEST_FILE,
  MANIFEST_FORMAT_VERSION,
  parseManifest,
  readModelArtifact,
  sha256Hex,
  type ModelArtifact,
  type ModelManifest,
  type NoiseScheduleManifest,
  type OnnxManifest,
} from "./manifest";
export {
  CONTRACT_INPUTS,
  CONTRACT_OUTPUT,
  DEFAULT_HOST_OPTIONS,
  ModelHost,
  type ForwardInput,
  type GraphOptimizationLevel,
  type ModelHostOptions,
  type ModelShape,
} from "./model-host";
export { crc32, decodePng, encodePng, type RgbImage } from "./png";
export { GaussianRng, MAX_SEED } from "./rng";
export {
  DEFAULT_GUIDANCE_SCALE,
  DEFAULT_STEPS,
  MAX_BATCH,
  MAX_GUIDANCE_SCALE,
  MAX_PROMPT_CHARS,
  resolveSampleRequest,
  sampleImages,
  toRgb8,
  type Denoiser,
  type DiffusionModel,
  type SampleRequest,
  type SampleResult,
  type SampleSettings,
} from "./sampler";
export {
  type AttachOptions,
  type GenerateOptions,
  type GenerateResult,
  type HostEvent,
  type HostStatus,
  type RegistryFeed,
  ServingHost,
  type ServingHostOptions,
  type ServingTarget,
  type VersionRole,
  type VersionState,
  type VersionStatus,
} from "./serving-host";
export {
  checkModelOutput,
  checkRecordedParity,
  MAX_CHECK_ABS_EPS,
  type OutputCheck,
  PARITY_TOLERANCE,
  type VerificationReport,
  type VerifyOptions,
  verifyModelArtifact,
} from "./verify";
export { PAD_ID, splitWords, Tokenizer, UNK_ID, type Tokenized } from "./tokenizer";
export { MAX_REWARD_GUIDANCE, rewardGuidedDenoiser, rewardGuidedModel } from "./reward-guidance";
