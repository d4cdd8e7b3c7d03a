// Test fixtures (tiny contract-obeying ONNX graphs and version folders around them). Import from tests only.
export {
  buildContractModel,
  CONTRACT_VOCAB,
  contractEps,
  type ContractModelSpec,
  defaultContractSpec,
  linearAlphasCumprod,
} from "./contract-model";
export { type TestArtifactOptions, writeTestArtifact } from "./artifact";
