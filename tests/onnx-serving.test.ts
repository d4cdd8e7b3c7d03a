// The trainer → serving hand-off end to end: kto exports a real model (parity-gated against tfjs),
// an artifact folder is written, @likewise/serving loads it (sha256, contract), reproduces the tfjs
// ε, and samples deterministic PNGs. Also pins that the two tokenizers (which cannot import each
// other) agree token for token.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

import {
  buildVocabulary,
  createModelConfig,
  createSchedule,
  describeModel,
  exportVerifiedOnnx,
  initBackend,
  initWeights,
  ONNX_OPSET,
  tfjsReference,
  Tokenizer as KtoTokenizer,
} from "@likewise/kto";
import {
  decodePng,
  encodePng,
  GaussianRng,
  loadModel,
  sampleImages,
  sha256Hex,
  Tokenizer as ServingTokenizer,
  type LoadedModel,
} from "@likewise/serving";

const WORDS = [
  "red",
  "green",
  "blue",
  "circle",
  "square",
  "triangle",
  "small",
  "large",
  "on",
  "left",
  "right",
  "top",
  "background",
  "2",
  "x9",
];
const vocab = buildVocabulary(WORDS);

describe("tokenizers of kto and serving agree", () => {
  const prompts = [
    "",
    "   ",
    "red circle",
    "A LARGE Red-Circle, on the   LEFT!!",
    "blue\tsquare\non top",
    "small small small small small small small small small small",
    "x9 2 two 22 x-9",
    "ünïcödé blue ✓ square",
    "red_circle.green/square",
  ];
  for (const contextLength of [1, 4, 8]) {
    test(`context ${contextLength}: identical ids for every prompt`, () => {
      const k = new KtoTokenizer(vocab, contextLength);
      const s = new ServingTokenizer(vocab, contextLength);
      for (const p of prompts) expect(Array.from(s.encode(p).ids), p).toEqual(Array.from(k.encode(p)));
    });
  }
});

describe("kto export → artifact folder → serving", () => {
  const cfg = createModelConfig({
    imageSize: 16,
    channels: [16, 32, 32],
    groups: 4,
    attentionLevels: [1],
    attentionHeads: 2,
    timeEmbedDim: 16,
    timeHiddenDim: 32,
    text: { vocabSize: vocab.length, contextLength: 6, dim: 32, layers: 1, heads: 2, mlpRatio: 2 },
  });
  const weights = initWeights(describeModel(cfg).decls, 11);
  const schedule = createSchedule();
  let dir: string;
  let model: LoadedModel;
  let ref: ReturnType<typeof tfjsReference>;

  beforeAll(async () => {
    await initBackend("wasm");
    ref = tfjsReference(cfg, weights);
    const { bytes, parity } = await exportVerifiedOnnx(cfg, weights, {
      reference: ref.forward,
      producerVersion: "it",
    });
    dir = await mkdtemp(join(tmpdir(), "likewise-artifact-"));
    await writeFile(join(dir, "model.onnx"), bytes);
    const manifest = {
      formatVersion: 1,
      id: "it-model",
      parent: null,
      family: cfg.family,
      imageSize: cfg.imageSize,
      contextLength: cfg.text.contextLength,
      config: cfg,
      vocab,
      schedule: {
        kind: schedule.spec.kind,
        timesteps: schedule.spec.steps,
        alphasCumprod: Array.from(schedule.alphasCumprod),
      },
      onnx: {
        file: "model.onnx",
        sha256: sha256Hex(bytes),
        opset: ONNX_OPSET,
        parity: { maxAbs: parity.maxAbs, relL2: parity.relL2 },
      },
    };
    await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest));
    model = await loadModel(dir, { intraOpNumThreads: 2 });
  });

  afterAll(async () => {
    await model.host.release();
    ref.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test("the served model reproduces the tfjs forward (ε) on the serving tokenizer's ids", async () => {
    const prompts = ["red circle on blue background", "", "large green triangle"];
    const n = prompts.length;
    const tokens = model.tokenizer.encodeBatch(prompts);
    const x = new Float32Array(n * 16 * 16 * 3);
    new GaussianRng(5).fillGaussian(x);
    const t = Float32Array.from([999, 500, 3]);
    const served = await model.host.forward({ batch: n, tokens, x, t });
    const want = await ref.forward({ batch: n, tokens: Int32Array.from(tokens, Number), x, t });
    let maxAbs = 0;
    for (let i = 0; i < want.length; i++)
      maxAbs = Math.max(maxAbs, Math.abs((served[i] ?? 0) - (want[i] ?? 0)));
    expect(maxAbs).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(weights.size);
  });

  test("sampling with guidance is deterministic and yields valid PNGs", async () => {
    const req = {
      prompts: ["red circle", "blue square on top"],
      seeds: [1, 2],
      steps: 10,
      guidanceScale: 3,
      eta: 0.3,
    };
    const a = await sampleImages(model, req);
    const b = await sampleImages(model, req);
    for (const [i, img] of a.images.entries()) {
      expect(Buffer.from(img.data).equals(Buffer.from(b.images[i]?.data ?? []))).toBe(true);
      const png = encodePng(img);
      expect(decodePng(png)).toEqual(img);
    }
    expect(a.images[0]).toMatchObject({ width: 16, height: 16 });
    // Regenerating one image from its stored (prompt, seed) alone must reproduce it.
    const alone = await sampleImages(model, { ...req, prompts: [req.prompts[1] ?? ""], seeds: [2] });
    expect(Buffer.from(alone.images[0]?.data ?? []).equals(Buffer.from(a.images[1]?.data ?? []))).toBe(true);
  });
});
