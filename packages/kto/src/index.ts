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
  averageWeights,
  initWeights,
  paramsFromMap,
  checkWeights,
  shapeSize,
  type WeightMap,
  type WeightTensor,
} from "./model/params";

// Tokenizer
export {
  Tokenizer,
  buildVocabulary,
  splitWords,
  PAD_ID,
  UNK_ID,
  PAD_TOKEN,
  UNK_TOKEN,
  type Vocabulary,
} from "./tokenizer";

// Randomness
export { Rng, createRng, splitSeed, type RngState } from "./rng";

// Noise schedule and forward process (schedule is also the tfjs-free subpath @likewise/kto/schedule)
export {
  createSchedule,
  DEFAULT_SCHEDULE,
  BETA_SCHEDULES,
  NUM_TRAIN_TIMESTEPS,
  type NoiseSchedule,
  type ScheduleSpec,
  type BetaScheduleKind,
} from "./schedule";
export { addNoise } from "./noise";

// tfjs: backend selection, interpreter, fast gradients
export { initBackend, BACKEND_PREFERENCES, type BackendInfo, type BackendPreference } from "./tf/backend";
export { TfOps, TF_OPS, tfForward, tfParams, weightsToVariables } from "./tf/tf-ops";
export {
  conv2dFast,
  conv2dBiasFast,
  matMulFast,
  upsample2xFast,
  concatChannelsFast,
  embeddingFast,
  groupNormFast,
  siluFast,
} from "./tf/fast-grads";

// ONNX export (the serving contract: tokens/x/t → eps) and its parity gate against tfjs
export { exportOnnx, ONNX_IO, ONNX_OPSET, type ExportOptions } from "./onnx/export";
export {
  checkOnnxParity,
  exportVerifiedOnnx,
  isOnnxParityError,
  OnnxParityError,
  DEFAULT_PARITY_CASES,
  DEFAULT_PARITY_TOLERANCE,
  type ParityCase,
  type ParityCaseReport,
  type ParityReport,
  type ParityTolerance,
  type ReferenceForward,
} from "./onnx/parity";
export { tfjsReference } from "./onnx/tf-reference";

// Training (generic over the objective), checkpoints and weight bytes
export {
  Trainer,
  train,
  evaluateLoss,
  evaluationBatch,
  maxMicroBatch,
  DEFAULT_MAX_HEAP_BYTES,
  type TrainOptions,
  type RunOptions,
  type RunResult,
  type TrainResult,
  type StepMetrics,
  type TrainProgress,
  type ReferencePredictor,
  guidedReferencePredictor,
} from "./train/train";
export {
  type TrainingSet,
  type MicroBatch,
  type TrainingPair,
  type LossWeighting,
  lossWeightTable,
} from "./train/batch";
export {
  OBJECTIVES,
  MSE_OBJECTIVE,
  denoisingMse,
  resolveObjective,
  type Objective,
  type ObjectiveInputs,
  type ObjectiveOptions,
} from "./train/objective";
export {
  decodeCheckpoint,
  encodeCheckpoint,
  type Checkpoint,
  type CheckpointHeader,
} from "./train/checkpoint";
export {
  encodeWeights,
  decodeWeights,
  WEIGHTS_FORMAT,
  type WeightsIndex,
  type WeightsIndexEntry,
} from "./train/weights-io";
export { GradientWorkerPool, type WorkerPoolOptions } from "./train/worker-pool";
export { isTrainableSubset, TRAINABLE_SUBSETS, type TrainableSubset } from "./train/layout";

// Alignment objectives: Diffusion-KTO, Diffusion-DPO, SFT on one per-sample error path (src/objective/)
export { denoisingError, sampleErrors, detach, type SampleErrors } from "./objective/denoising-error";
export { implicitReward } from "./objective/implicit-reward";
export { referencePoint, rollPrompts, maskedMean } from "./objective/reference-point";
export { utility } from "./objective/utility";
export { ktoLoss, ktoLossWithMetrics, ktoObjective, type KtoInputs } from "./objective/kto-loss";
export {
  dpoLoss,
  dpoLossWithMetrics,
  dpoObjective,
  splitPairBatch,
  type DpoInputs,
} from "./objective/dpo-loss";
export { sftLoss, sftLossWithMetrics, sftObjective } from "./objective/sft-loss";
export {
  METRIC_NAMES,
  readMetrics,
  readMetricsSync,
  type MetricName,
  type MetricTensors,
  type ObjectiveMetrics,
  type LossWithMetrics,
} from "./objective/metrics";
export {
  UTILITIES,
  REFERENCE_POINTS,
  SFT_NORMALIZATIONS,
  DEFAULT_KTO_OPTIONS,
  DEFAULT_DPO_OPTIONS,
  DEFAULT_SFT_OPTIONS,
  DEFAULT_POSITIVE_RATIO,
  resolveKtoOptions,
  resolveDpoOptions,
  resolveSftOptions,
  ktoOptionsFromCodes,
  ktoOptionsToCodes,
  dpoOptionsFromCodes,
  sftOptionsFromCodes,
  type Utility,
  type ReferencePoint,
  type SftNormalization,
  type KtoOptions,
  type DpoOptions,
  type SftOptions,
} from "./objective/options";
export {
  KTO_OBJECTIVE,
  DPO_OBJECTIVE,
  SFT_OBJECTIVE,
  OBJECTIVES_WITH_METRICS,
  ktoFromInputs,
  dpoFromInputs,
  sftFromInputs,
} from "./objective/objectives";
export { PositiveRatioSampler } from "./objective/positive-ratio-sampler";
export { objectiveMetricsOf, referencePointOf, type SampleStats } from "./objective/batch-metrics";
export { buildDpoPairs, pairBatchOrder, type DpoPair, type DpoPairOptions } from "./objective/dpo-pairs";

// Diffusion-KTO's toy experiment (paper §6): 2-D MLP diffusion model, every objective on the same labels
export {
  runToyExperiment,
  pretrainToy,
  fineTuneToy,
  sampleToyModel,
  toyFeedback,
  toyStats,
  toyFindings,
  hasDiverged,
  DIVERGED_SHARE,
  TOY_DISTRIBUTIONS,
  TOY_METHODS,
  TOY_REFERENCE_POINTS,
  DEFAULT_TOY_OPTIONS,
  type ToyOptions,
  type ToyReferencePoint,
  type ToyMethod,
  type ToyStats,
  type ToyMethodResult,
  type ToyProgress,
  type ToyFinding,
  type ToyCheckpoint,
} from "./toy/toy-experiment";
export { DEFAULT_TOY_MODEL, toyForward, sampleToy, type ToyModelConfig } from "./toy/toy-model";
export { scatterPlot, type RgbBytes, type ScatterOptions } from "./toy/scatter";
