// Model version folders: manifest.json + model.onnx + weights.bin/weights.json, written to a temporary
// sibling folder and renamed into place, so a reader never sees half an artifact.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

import { decodeWeights, encodeWeights, ONNX_OPSET, validateModelConfig, type ModelConfig, type NoiseSchedule, type WeightMap } from "@likewise/kto";

export const MANIFEST_FORMAT_VERSION = 1;

export type TrainingRecord = {
  /** The command that produced the artifact, e.g. "pnpm likewise pretrain --size 16 --steps 9000". */
  command: string;
  seed: number;
  steps: number;
  batchSize: number;
  learningRate: number;
  wallTimeSec: number;
  finalLoss: number;
  backend: string;
  workers: number;
  [key: string]: unknown;
};

export type ModelManifest = {
  formatVersion: number;
  id: string;
  parent: string | null;
  family: string;
  createdAt: string;
  imageSize: number;
  contextLength: number;
  config: ModelConfig;
  vocab: string[];
  schedule: { kind: string; timesteps: number; alphasCumprod: number[] };
  onnx: { file: string; sha256: string; opset: number; parity: { maxAbs: number; relL2: number } };
  weights: { file: string; index: string; sha256: string; parameters: number };
  training: TrainingRecord;
  metrics: Record<string, unknown>;
};

export const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export async function writeModelVersion(
  dir: string,
  args: {
    id: string;
    parent: string | null;
    config: ModelConfig;
    vocab: readonly string[];
    schedule: NoiseSchedule;
    weights: WeightMap;
    onnx: Uint8Array;
    parity: { maxAbs: number; relL2: number };
    training: TrainingRecord;
    metrics?: Record<string, unknown>;
    now?: Date;
  },
): Promise<ModelManifest> {
  const { index, bin } = encodeWeights(args.weights);
  let parameters = 0;
  for (const w of args.weights.values()) parameters += w.data.length;
  const manifest: ModelManifest = {
    formatVersion: MANIFEST_FORMAT_VERSION,
    id: args.id,
    parent: args.parent,
    family: args.config.family,
    createdAt: (args.now ?? new Date()).toISOString(),
    imageSize: args.config.imageSize,
    contextLength: args.config.text.contextLength,
    config: args.config,
    vocab: [...args.vocab],
    schedule: { kind: args.schedule.spec.kind, timesteps: args.schedule.spec.steps, alphasCumprod: Array.from(args.schedule.alphasCumprod) },
    onnx: { file: "model.onnx", sha256: sha256Hex(args.onnx), opset: ONNX_OPSET, parity: args.parity },
    weights: { file: "weights.bin", index: "weights.json", sha256: sha256Hex(bin), parameters },
    training: args.training,
    metrics: args.metrics ?? {},
  };
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, "model.onnx"), args.onnx);
  await writeFile(join(tmp, "weights.bin"), bin);
  await writeFile(join(tmp, "weights.json"), JSON.stringify(index, null, 2) + "\n");
  await writeFile(join(tmp, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return manifest;
}

/** Reads a model version folder's manifest and tfjs weights (sha256-checked) for further training. */
export async function readModelVersion(dir: string): Promise<{ manifest: ModelManifest; config: ModelConfig; weights: WeightMap }> {
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as ModelManifest;
  } catch (e) {
    throw new Error(`${dir} is not a model version folder (manifest.json: ${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const config = validateModelConfig(manifest.config);
  const bin = await readFile(join(dir, manifest.weights.file));
  if (sha256Hex(bin) !== manifest.weights.sha256) throw new Error(`${join(dir, manifest.weights.file)}: sha256 does not match the manifest`);
  const index: unknown = JSON.parse(await readFile(join(dir, manifest.weights.index), "utf8"));
  return { manifest, config, weights: decodeWeights(index, new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength)) };
}
