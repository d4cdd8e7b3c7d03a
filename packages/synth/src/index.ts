// @likewise/synth — the shapes world: scenes, captions, rendering, the flawed training
// distribution, the judge, and simulated raters. Pure compute; curated named re-exports.

// Errors
export { SynthError, isSynthError, SYNTH_ERROR_CODES, type SynthErrorCode } from "./errors";

// Images and randomness
export {
  IMAGE_SIZES,
  createImage,
  toFloat32,
  fromFloat32,
  imagesToFloat32Batch,
  assertRgbImage,
  type RgbImage,
  type ImageSize,
} from "./image";
export { Rng, createRng, splitSeed } from "./rng";

// World vocabulary and geometry
export {
  SHAPES,
  COLOURS,
  SIZES,
  POSITIONS,
  BACKGROUND_STYLES,
  SIZE_RADIUS,
  SIZE_BOUNDARIES,
  POSITION_BOUNDARIES,
  sizeFromRadius,
  positionFromCentroid,
  positionAnchor,
  type Shape,
  type Colour,
  type Size,
  type Position,
  type BackgroundStyle,
} from "./world/attributes";
export { COLOUR_RGB, rgbToOklab, rankColours, type Rgb } from "./world/colour";

// Scenes and captions
export {
  sampleScene,
  sceneOptionsProblem,
  completeScene,
  describeScene,
  fullDescription,
  DEFAULT_CAPTION_OPTIONS,
  type Scene,
  type SceneObject,
  type SceneBackground,
  type SceneOptions,
  type Description,
  type ObjectDescription,
  type BackgroundDescription,
  type CaptionOptions,
} from "./world/scene";
export {
  formatCaption,
  parseCaption,
  tryParseCaption,
  shortenDescription,
  captionWordCount,
  CAPTION_VOCABULARY,
  MAX_CAPTION_WORDS,
  MIN_CAPTION_WORDS_LIMIT,
} from "./world/caption";
export { renderScene } from "./world/render";
export { evaluationPrompts, DEFAULT_EVAL_SEED, type EvalPrompt } from "./world/eval-prompts";

// Training distribution
export {
  FLAW_KINDS,
  DEFAULT_TRAINING_MIX,
  CLEAN_MIX,
  GENERATOR_LIKE_MIX,
  cleanShare,
  validateTrainingMix,
  type FlawKind,
  type FlawSpec,
  type TrainingMix,
  type AppliedFlaw,
} from "./world/flaws";
export {
  sampleExample,
  sampleBatch,
  sampleFloatBatch,
  iterateExamples,
  renderExample,
  type Example,
  type ExampleOptions,
  type FloatBatch,
} from "./world/dataset";

// The judge
export {
  analyzeImage,
  qualityScore,
  type ImageAnalysis,
  type DetectedObject,
  type DetectedBackground,
  type QualityFeatures,
  type Distribution,
} from "./judge/analyze";
export {
  judgeImage,
  judgeAnalysis,
  judgeFeatures,
  JUDGE_FEATURES,
  JUDGE_FIDELITY_WEIGHT,
  type Judgement,
  type ObjectJudgement,
  type AttributeFidelity,
  type JudgeFeature,
  type JudgeFeatures,
} from "./judge/judge";
export {
  summarizeJudgements,
  ATTRIBUTE_CHANCE,
  SUMMARY_ATTRIBUTES,
  type JudgementSummary,
  type AttributeSummary,
  type SummaryAttribute,
} from "./judge/summary";
export {
  measureJudgeAccuracy,
  VALIDATED_ATTRIBUTES,
  type JudgeAccuracy,
  type ValidatedAttribute,
} from "./judge/validate";

// Diversity of a generator's images per prompt (mean pairwise distance of box-averaged images)
export { meanPairwiseDistance, promptSetDiversity, boxDownsample, type DiversityOptions } from "./diversity";

// Contact sheets (for eval output)
export {
  contactSheet,
  drawText,
  wrapText,
  type ContactSheetRow,
  type ContactSheetOptions,
} from "./contact-sheet";

// Simulated raters
export {
  validateRaterSpec,
  parseRaterSpec,
  type RaterSpec,
  type RaterSpecValidation,
  type Persona,
  type LogisticPersona,
  type ThresholdPersona,
} from "./raters/spec";
export {
  likeProbability,
  personaLikeProbability,
  personaUtility,
  assignPersona,
  simulateVote,
  hashKey,
  type Vote,
} from "./raters/vote";
export {
  RATER_PRESETS,
  RATER_PRESET_SPECS,
  RATER_PRESET_NAMES,
  getRaterPreset,
  type RaterPresetName,
} from "./raters/presets";
