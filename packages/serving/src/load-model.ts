/**
 * Model version folder → ready-to-sample DiffusionModel: verified artifact, warmed ONNX session,
 * tokenizer and ᾱ from the manifest.
 */
import { type ModelManifest, readModelArtifact } from "./manifest";
import { ModelHost, type ModelHostOptions } from "./model-host";
import { type DiffusionModel } from "./sampler";
import { Tokenizer } from "./tokenizer";

export type LoadedModel = Omit<DiffusionModel, "host"> & {
  host: ModelHost;
  manifest: ModelManifest;
  dir: string;
};

/**
 * Reads and verifies `<dir>/manifest.json` + ONNX (sha256), creates and warms the session.
 * The session is created from the verified bytes, not by re-reading the path, so what runs is
 * exactly what was hashed.
 */
export async function loadModel(dir: string, options: ModelHostOptions = {}): Promise<LoadedModel> {
  const { manifest, onnxBytes } = await readModelArtifact(dir);
  return modelFromManifest(manifest, onnxBytes, dir, options);
}

/** Same as loadModel for a manifest and ONNX bytes already in memory (the caller verified them). */
export async function modelFromManifest(
  manifest: ModelManifest,
  onnxBytes: Uint8Array,
  dir: string,
  options: ModelHostOptions = {},
): Promise<LoadedModel> {
  const host = await ModelHost.create(
    onnxBytes,
    { imageSize: manifest.imageSize, contextLength: manifest.contextLength },
    options,
  );
  return {
    manifest,
    dir,
    host,
    tokenizer: new Tokenizer(manifest.vocab, manifest.contextLength),
    alphasCumprod: Float64Array.from(manifest.schedule.alphasCumprod),
  };
}
