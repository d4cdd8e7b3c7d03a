// Model version folders: manifest.json + model.onnx + weights.bin/weights.json, written to a temporary
// sibling folder and renamed into place, so a reader never sees half an artifact.
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

import {
  decodeWeights,
  encodeWeights,
  ONNX_OPSET,
  validateModelConfig,
  type ModelConfig,
  type NoiseSchedule,
  type WeightMap,
} from "@likewise/kto";

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
    schedule: {
      kind: args.schedule.spec.kind,
      timesteps: args.schedule.spec.steps,
      alphasCumprod: Array.from(args.schedule.alphasCumprod),
    },
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

/** Why a folder cannot be read as a model version: one line naming the file and the problem (no stack needed). */
export class ArtifactFolderError extends Error {
  override readonly name = "ArtifactFolderError";
}

/** A manifest is ~50 kB (vocab + 1000 ᾱ); a weights index ~25 kB. Anything far larger is not one. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/** Version ids name folders in the artifact store (the same rule as LocalArtifactStore). */
const VERSION_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

/** Why `id` cannot name a model version, or null. */
export function versionIdProblem(id: string): string | null {
  return VERSION_ID_RE.test(id)
    ? null
    : "a version id is 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit";
}

function fail(message: string): never {
  throw new ArtifactFolderError(message);
}

function errno(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string"
    ? e.code
    : undefined;
}

/** A plain file in the folder (no symlink, no other kind), at most `maxBytes`. */
async function readPlainFile(dir: string, name: string, maxBytes: number): Promise<Buffer> {
  if (!/^[^/\\\0]+$/.test(name) || name === "." || name === "..")
    fail(
      `${dir}: ${JSON.stringify(name)} is not a plain file name (the manifest may only name files in its folder)`,
    );
  const path = join(dir, name);
  const st = await lstat(path).catch((e: unknown) =>
    fail(
      errno(e) === "ENOENT" ? `${path} is missing` : `${path}: ${e instanceof Error ? e.message : String(e)}`,
    ),
  );
  if (st.isSymbolicLink()) fail(`${path} is a symbolic link: a version folder holds plain files only`);
  if (!st.isFile()) fail(`${path} is not a regular file`);
  if (st.size > maxBytes) fail(`${path} is ${st.size} bytes; at most ${maxBytes} expected`);
  return readFile(path);
}

/** A JSON file of the folder: UTF-8 text (a BOM is skipped), parsed; a clear message if it is binary, cut or empty. */
async function readJsonFile(dir: string, name: string): Promise<unknown> {
  const bytes = await readPlainFile(dir, name, MAX_MANIFEST_BYTES);
  const path = join(dir, name);
  if (bytes.includes(0)) fail(`${path} is binary (it contains NUL bytes), not JSON text`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return fail(`${path} is not UTF-8 text`);
  }
  if (text.trim() === "") fail(`${path} is empty`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return fail(`${path} is not valid JSON (${why})${looksCutShort(text, why) ? ": cut short?" : ""}`);
  }
}

/** Whether JSON.parse's complaint is about the end of the text (a file cut short) rather than a bad character. */
export function looksCutShort(text: string, parseError: string): boolean {
  if (/end of (JSON )?input/i.test(parseError)) return true;
  const at = /at position (\d+)/.exec(parseError)?.[1];
  return at !== undefined && Number(at) >= text.trimEnd().length;
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(`${what}: expected a JSON object`);
  // safe because only non-array objects pass the check above
  return v as Record<string, unknown>;
}

type WeightsEntry = { file: string; index: string; sha256: string };

function weightsEntry(manifest: Record<string, unknown>, path: string): WeightsEntry {
  const w = record(manifest.weights, `${path}: weights`);
  for (const k of ["file", "index", "sha256"] as const)
    if (typeof w[k] !== "string" || w[k] === "") fail(`${path}: weights.${k} must be a non-empty string`);
  if (!SHA256_RE.test(w.sha256 as string)) fail(`${path}: weights.sha256 must be 64 lowercase hex digits`);
  return { file: w.file as string, index: w.index as string, sha256: w.sha256 as string };
}

/** Reads and checks the tfjs weights a manifest names: sha256 of the binary, and an index that describes it. */
async function readWeights(dir: string, entry: WeightsEntry): Promise<WeightMap> {
  const bin = await readPlainFile(dir, entry.file, 4 * 1024 ** 3);
  const actual = sha256Hex(bin);
  if (actual !== entry.sha256)
    fail(
      `${join(dir, entry.file)}: sha256 ${actual} differs from the manifest's ${entry.sha256} (truncated or replaced?)`,
    );
  const index = await readJsonFile(dir, entry.index);
  try {
    return decodeWeights(index, new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength));
  } catch (e) {
    return fail(
      `${join(dir, entry.index)} does not describe ${entry.file}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/**
 * Checks a folder offered as a model version before anything is registered or copied: it is a folder of plain
 * files and folders (no symbolic links, devices or sockets, at most 1000 entries), its manifest.json is a JSON
 * object of sane size, and, when the manifest names trained weights, they match their sha256 and index. The
 * manifest's fields and the ONNX model are verified by the registry (@likewise/serving) afterwards.
 */
export async function checkModelVersionFolder(dir: string): Promise<{ manifest: Record<string, unknown> }> {
  const st = await lstat(dir).catch((e: unknown) =>
    fail(
      errno(e) === "ENOENT"
        ? `${dir} does not exist`
        : `${dir}: ${e instanceof Error ? e.message : String(e)}`,
    ),
  );
  if (st.isSymbolicLink() || !st.isDirectory())
    fail(`${dir} is not a folder (a model version is a folder with manifest.json)`);
  let entries = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (++entries > 1000) fail(`${dir} holds more than 1000 files: not a model version folder`);
      const p = join(d, e.name);
      if (e.isSymbolicLink()) fail(`${p} is a symbolic link: a version folder holds plain files only`);
      if (e.isDirectory()) await walk(p);
      else if (!e.isFile()) fail(`${p} is not a regular file`);
    }
  };
  await walk(dir);
  const manifest = record(await readJsonFile(dir, "manifest.json"), join(dir, "manifest.json"));
  if (manifest.weights !== undefined)
    await readWeights(dir, weightsEntry(manifest, join(dir, "manifest.json")));
  return { manifest };
}

/** Reads a model version folder's manifest and tfjs weights (sha256-checked) for further training. */
export async function readModelVersion(
  dir: string,
): Promise<{ manifest: ModelManifest; config: ModelConfig; weights: WeightMap }> {
  const raw = record(await readJsonFile(dir, "manifest.json"), join(dir, "manifest.json"));
  // safe because the fields used for training are checked below (config by validateModelConfig, weights here)
  const manifest = raw as unknown as ModelManifest;
  const config = validateModelConfig(manifest.config);
  const weights = await readWeights(dir, weightsEntry(raw, join(dir, "manifest.json")));
  return { manifest, config, weights };
}
