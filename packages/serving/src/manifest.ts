/**
 * Model version artifact: a folder with `manifest.json` + `model.onnx` (+ training weights that
 * serving ignores). This module validates the manifest fields serving relies on and verifies the
 * ONNX file against the manifest's sha256 before any session is created. Unknown fields (parent,
 * config, metrics, weight hashes…) are kept but not interpreted here.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { ServingError } from "./errors";

/** The manifest format this reader understands. Bump on any incompatible change. */
export const MANIFEST_FORMAT_VERSION = 1;
export const MANIFEST_FILE = "manifest.json";

export type NoiseScheduleManifest = {
  /** How β was generated at training time; informational, ᾱ below is authoritative. */
  kind: "linear" | "cosine";
  /** Number of training timesteps T (1000 for the `tiny` family). */
  timesteps: number;
  /** ᾱ_t for t = 0..T-1 exactly as used in training (strictly decreasing, in (0, 1]). */
  alphasCumprod: number[];
};

export type OnnxManifest = {
  /** File name inside the version folder (no path separators). */
  file: string;
  /** Lowercase hex sha256 of the file's bytes. */
  sha256: string;
  opset: number;
  /** The exporter's ORT-vs-tfjs check on fresh inputs, when recorded. */
  parity?: { maxAbs: number; relL2: number };
};

/** The part of manifest.json that serving needs. */
export type ModelManifest = {
  formatVersion: number;
  id: string;
  family: string;
  imageSize: number;
  contextLength: number;
  /** Word vocabulary; index 0 is "<pad>", 1 is "<unk>". */
  vocab: string[];
  schedule: NoiseScheduleManifest;
  onnx: OnnxManifest;
  /** Every other field of the file, untouched. */
  extra: Record<string, unknown>;
};

const KNOWN_FIELDS = new Set([
  "formatVersion",
  "id",
  "family",
  "imageSize",
  "contextLength",
  "vocab",
  "schedule",
  "onnx",
]);

function fail(path: string, what: string): never {
  throw new ServingError("INVALID_MANIFEST", `manifest.${path}: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function intField(obj: Record<string, unknown>, key: string, path: string, min: number, max: number): number {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    fail(path, `expected an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  return v;
}

function stringField(obj: Record<string, unknown>, key: string, path: string): string {
  const v = obj[key];
  if (typeof v !== "string" || v.length === 0)
    fail(path, `expected a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates parsed manifest JSON → ModelManifest; throws ServingError("INVALID_MANIFEST") naming the first bad field. */
export function parseManifest(json: unknown): ModelManifest {
  if (!isRecord(json)) fail("", "expected a JSON object");
  const formatVersion = intField(json, "formatVersion", "formatVersion", 1, Number.MAX_SAFE_INTEGER);
  if (formatVersion !== MANIFEST_FORMAT_VERSION)
    fail(
      "formatVersion",
      `unsupported version ${formatVersion} (this reader knows ${MANIFEST_FORMAT_VERSION})`,
    );
  const id = stringField(json, "id", "id");
  const family = stringField(json, "family", "family");
  const imageSize = intField(json, "imageSize", "imageSize", 4, 1024);
  const contextLength = intField(json, "contextLength", "contextLength", 1, 4096);

  const vocab = json.vocab;
  if (!Array.isArray(vocab) || vocab.length < 2) fail("vocab", "expected an array of at least 2 strings");
  const seen = new Set<string>();
  vocab.forEach((w, i) => {
    if (typeof w !== "string" || w.length === 0)
      fail(`vocab[${i}]`, `expected a non-empty string, got ${JSON.stringify(w)}`);
    if (seen.has(w)) fail(`vocab[${i}]`, `duplicate word "${w}"`);
    seen.add(w);
  });
  if (vocab[0] !== "<pad>" || vocab[1] !== "<unk>")
    fail("vocab", `index 0 must be "<pad>" and 1 "<unk>", got ${JSON.stringify(vocab.slice(0, 2))}`);

  const s = json.schedule;
  if (!isRecord(s)) fail("schedule", "expected an object");
  if (s.kind !== "linear" && s.kind !== "cosine")
    fail("schedule.kind", `expected "linear" or "cosine", got ${JSON.stringify(s.kind)}`);
  const timesteps = intField(s, "timesteps", "schedule.timesteps", 2, 100_000);
  const ac = s.alphasCumprod;
  if (!Array.isArray(ac) || ac.length !== timesteps)
    fail(
      "schedule.alphasCumprod",
      `expected ${timesteps} numbers, got ${Array.isArray(ac) ? ac.length : typeof ac}`,
    );
  let prev = Number.POSITIVE_INFINITY;
  ac.forEach((a, i) => {
    if (typeof a !== "number" || !(a > 0) || a > 1)
      fail(`schedule.alphasCumprod[${i}]`, `expected a number in (0, 1], got ${JSON.stringify(a)}`);
    if (!(a < prev)) fail(`schedule.alphasCumprod[${i}]`, "ᾱ must be strictly decreasing in t");
    prev = a;
  });

  const o = json.onnx;
  if (!isRecord(o)) fail("onnx", "expected an object");
  const file = stringField(o, "file", "onnx.file");
  // The file is resolved inside the version folder; separators or ".." would let a manifest point elsewhere.
  if (/[/\\]/.test(file) || file === "." || file === "..")
    fail("onnx.file", `must be a plain file name, got ${JSON.stringify(file)}`);
  const sha256 = stringField(o, "sha256", "onnx.sha256");
  if (!/^[0-9a-f]{64}$/.test(sha256)) fail("onnx.sha256", "expected 64 lowercase hex digits");
  const opset = intField(o, "opset", "onnx.opset", 7, 100);
  let parity: OnnxManifest["parity"];
  if (o.parity !== undefined) {
    const p = o.parity;
    if (!isRecord(p)) fail("onnx.parity", "expected an object");
    const num = (k: string) => {
      const v = p[k];
      if (typeof v !== "number" || !(v >= 0))
        fail(`onnx.parity.${k}`, `expected a number ≥ 0, got ${JSON.stringify(v)}`);
      return v;
    };
    parity = { maxAbs: num("maxAbs"), relL2: num("relL2") };
  }

  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) if (!KNOWN_FIELDS.has(k)) extra[k] = v;
  return {
    formatVersion,
    id,
    family,
    imageSize,
    contextLength,
    vocab: vocab as string[], // safe because every element was checked to be a string above
    schedule: { kind: s.kind, timesteps, alphasCumprod: ac as number[] }, // safe: every element checked above
    onnx: parity ? { file, sha256, opset, parity } : { file, sha256, opset },
    extra,
  };
}

/** Lowercase hex sha256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export type ModelArtifact = { dir: string; manifest: ModelManifest; onnxBytes: Uint8Array };

/**
 * Reads `<dir>/manifest.json` and the ONNX file it names; verifies the sha256.
 * Throws ServingError INVALID_MANIFEST (missing/invalid manifest or ONNX file) or HASH_MISMATCH.
 */
export async function readModelArtifact(dir: string): Promise<ModelArtifact> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), "utf8");
  } catch (cause) {
    throw new ServingError("INVALID_MANIFEST", `cannot read ${join(dir, MANIFEST_FILE)}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ServingError("INVALID_MANIFEST", `${join(dir, MANIFEST_FILE)} is not valid JSON`, { cause });
  }
  const manifest = parseManifest(json);
  const onnxPath = join(dir, manifest.onnx.file);
  let onnxBytes: Uint8Array;
  try {
    onnxBytes = new Uint8Array(await readFile(onnxPath));
  } catch (cause) {
    throw new ServingError("INVALID_MANIFEST", `cannot read ${onnxPath} named by manifest.onnx.file`, {
      cause,
    });
  }
  const actual = sha256Hex(onnxBytes);
  if (actual !== manifest.onnx.sha256) {
    throw new ServingError(
      "HASH_MISMATCH",
      `${onnxPath}: sha256 ${actual} differs from manifest ${manifest.onnx.sha256}`,
    );
  }
  return { dir, manifest, onnxBytes };
}
