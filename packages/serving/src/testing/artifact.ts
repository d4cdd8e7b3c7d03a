/**
 * Test fixture: a model version folder (manifest.json + model.onnx) around a contract model, so registry and host
 * tests run real ONNX Runtime sessions on tiny graphs. `corrupt` makes the broken artifacts a registry must refuse.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import {
  buildContractModel,
  CONTRACT_VOCAB,
  defaultContractSpec,
  linearAlphasCumprod,
  type ContractModelSpec,
} from "./contract-model";

export type TestArtifactOptions = {
  id: string;
  spec?: Partial<ContractModelSpec>;
  /** bad-hash: manifest sha256 of other bytes; truncated: half the ONNX file (manifest hash matches it); nan: ε = NaN. */
  corrupt?: "bad-hash" | "truncated" | "nan";
  parity?: { maxAbs: number; relL2: number } | null;
};

/** Writes `<parent>/<id>/{manifest.json, model.onnx}` → the folder. */
export async function writeTestArtifact(parent: string, options: TestArtifactOptions): Promise<string> {
  const spec = defaultContractSpec({
    ...options.spec,
    ...(options.corrupt === "nan" ? { a: Number.NaN } : {}),
  });
  let onnx = buildContractModel(spec);
  if (options.corrupt === "truncated") onnx = onnx.slice(0, Math.floor(onnx.length / 2));
  const hashed = options.corrupt === "bad-hash" ? Uint8Array.from([...onnx, 0]) : onnx;
  const dir = join(parent, options.id);
  await mkdir(dir, { recursive: true });
  const manifest = {
    formatVersion: 1,
    id: options.id,
    parent: null,
    family: "contract",
    imageSize: spec.imageSize,
    contextLength: spec.contextLength,
    vocab: CONTRACT_VOCAB,
    schedule: { kind: "linear", timesteps: 1000, alphasCumprod: linearAlphasCumprod(1000) },
    onnx: {
      file: "model.onnx",
      sha256: createHash("sha256").update(hashed).digest("hex"),
      opset: 17,
      ...(options.parity === null ? {} : { parity: options.parity ?? { maxAbs: 2e-6, relL2: 3e-7 } }),
    },
    metrics: {},
  };
  await writeFile(join(dir, "model.onnx"), onnx);
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
  return dir;
}
