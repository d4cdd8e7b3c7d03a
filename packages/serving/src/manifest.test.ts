import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { isServingError } from "./errors";
import { parseManifest, readModelArtifact, sha256Hex } from "./manifest";
import {
  buildContractModel,
  CONTRACT_VOCAB,
  defaultContractSpec,
  linearAlphasCumprod,
} from "./testing/contract-model";

function validManifest(sha256 = "0".repeat(64)): Record<string, unknown> {
  return {
    formatVersion: 1,
    id: "tiny-base",
    family: "tiny",
    imageSize: 8,
    contextLength: 4,
    vocab: CONTRACT_VOCAB,
    schedule: { kind: "linear", timesteps: 1000, alphasCumprod: linearAlphasCumprod(1000) },
    onnx: { file: "model.onnx", sha256, opset: 17 },
    parent: null,
    metrics: { loss: 0.1 },
  };
}

describe("parseManifest", () => {
  test("accepts a valid manifest and keeps unknown fields in extra", () => {
    const m = parseManifest(validManifest());
    expect(m.id).toBe("tiny-base");
    expect(m.schedule.alphasCumprod).toHaveLength(1000);
    expect(m.extra).toEqual({ parent: null, metrics: { loss: 0.1 } });
  });

  test.each<[string, (m: Record<string, unknown>) => void, RegExp]>([
    ["not an object", () => undefined, /expected a JSON object/],
    ["future format", (m) => (m.formatVersion = 2), /formatVersion: unsupported version 2/],
    ["missing id", (m) => delete m.id, /manifest\.id: expected a non-empty string/],
    ["fractional image size", (m) => (m.imageSize = 8.5), /manifest\.imageSize/],
    ["zero context", (m) => (m.contextLength = 0), /manifest\.contextLength/],
    ["vocab without pad", (m) => (m.vocab = ["a", "<unk>", "b"]), /index 0 must be "<pad>"/],
    [
      "duplicate word",
      (m) => (m.vocab = ["<pad>", "<unk>", "red", "red"]),
      /vocab\[3\]: duplicate word "red"/,
    ],
    [
      "unknown schedule kind",
      (m) => ((m.schedule as Record<string, unknown>).kind = "sigmoid"),
      /schedule\.kind/,
    ],
    [
      "short ᾱ",
      (m) => ((m.schedule as Record<string, unknown>).alphasCumprod = [0.9, 0.8]),
      /expected 1000 numbers, got 2/,
    ],
    [
      "increasing ᾱ",
      (m) => {
        const ac = linearAlphasCumprod(1000);
        ac[10] = 0.9999;
        (m.schedule as Record<string, unknown>).alphasCumprod = ac;
      },
      /alphasCumprod\[10\]: ᾱ must be strictly decreasing/,
    ],
    [
      "path traversal",
      (m) => ((m.onnx as Record<string, unknown>).file = "../x.onnx"),
      /onnx\.file: must be a plain file name/,
    ],
    ["bad sha", (m) => ((m.onnx as Record<string, unknown>).sha256 = "ABC"), /onnx\.sha256/],
  ])("rejects %s with INVALID_MANIFEST naming the field", (_name, mutate, message) => {
    const m = validManifest();
    mutate(m);
    const input = _name === "not an object" ? [m] : m;
    let err: unknown;
    try {
      parseManifest(input);
    } catch (e) {
      err = e;
    }
    expect(isServingError(err, "INVALID_MANIFEST")).toBe(true);
    expect(String(err)).toMatch(message);
  });
});

describe("readModelArtifact", () => {
  let dir: string;
  const onnx = buildContractModel(defaultContractSpec());
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "likewise-serving-"));
    await writeFile(join(dir, "model.onnx"), onnx);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  test("reads the manifest and ONNX bytes when the sha256 matches", async () => {
    await writeFile(join(dir, "manifest.json"), JSON.stringify(validManifest(sha256Hex(onnx))));
    const a = await readModelArtifact(dir);
    expect(a.manifest.onnx.sha256).toBe(sha256Hex(onnx));
    expect(Buffer.from(a.onnxBytes).equals(Buffer.from(onnx))).toBe(true);
  });

  test("refuses a file whose sha256 differs (HASH_MISMATCH)", async () => {
    await writeFile(join(dir, "manifest.json"), JSON.stringify(validManifest("f".repeat(64))));
    await expect(readModelArtifact(dir)).rejects.toSatisfy((e) => isServingError(e, "HASH_MISMATCH"));
  });

  test("a missing folder, bad JSON or missing ONNX file is INVALID_MANIFEST", async () => {
    await expect(readModelArtifact(join(dir, "nope"))).rejects.toSatisfy((e) =>
      isServingError(e, "INVALID_MANIFEST"),
    );
    await writeFile(join(dir, "manifest.json"), "{not json");
    await expect(readModelArtifact(dir)).rejects.toThrow(/not valid JSON/);
    const m = validManifest();
    (m.onnx as Record<string, unknown>).file = "absent.onnx";
    await writeFile(join(dir, "manifest.json"), JSON.stringify(m));
    await expect(readModelArtifact(dir)).rejects.toThrow(/absent\.onnx/);
  });
});
