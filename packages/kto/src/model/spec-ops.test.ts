import { describe, expect, it } from "vitest";

import { KtoError } from "../errors";
import { createModelConfig, DEFAULT_MODEL_CONFIG, validateModelConfig } from "./config";
import { initWeights } from "./params";
import { describeModel } from "./spec-ops";

describe("describeModel (SpecOps)", () => {
  it("reproduces the platform notes' UNet: 794,851 params in 116 tensors, 0.3606 conv GFLOP at 32 px", () => {
    const spec = describeModel(DEFAULT_MODEL_CONFIG);
    const unet = spec.decls.filter((d) => d.name.startsWith("unet."));
    expect(unet).toHaveLength(116);
    expect(unet.reduce((a, d) => a + d.shape.reduce((x, y) => x * y, 1), 0)).toBe(794_851);
    expect(spec.flopsPerImage.conv / 1e9).toBeCloseTo(0.3606, 4);
    expect(spec.flopsPerImage.total / 1e9).toBeCloseTo(0.3626, 3);
    expect(spec.outputShape).toEqual([1, 32, 32, 3]);
  });

  it("nres=2 gives 1,169,827 UNet params; 16 px gives 0.0907 GFLOP", () => {
    const two = describeModel(createModelConfig({ blocksPerLevel: 2 }));
    const unet = two.decls.filter((d) => d.name.startsWith("unet."));
    expect(unet.reduce((a, d) => a + d.shape.reduce((x, y) => x * y, 1), 0)).toBe(1_169_827);
    const small = describeModel(createModelConfig({ imageSize: 16 }));
    expect(small.flopsPerImage.total / 1e9).toBeCloseTo(0.0913, 3);
  });

  it("parameter names are unique and stable", () => {
    const names = describeModel(createModelConfig({ attentionLevels: [1] })).decls.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.slice(0, 3)).toEqual([
      "text.token_embedding",
      "text.position_embedding",
      "text.layer0.ln1.gamma",
    ]);
    expect(names).toContain("unet.down1.attn0.q.w");
    expect(names).toContain("unet.mid.attn.norm.gamma");
    expect(names.at(-1)).toBe("unet.out.conv.b");
  });

  it("positionEmbedding adds one [H, W, c₀] table after conv_in and no FLOPs", () => {
    const plain = describeModel(createModelConfig({ imageSize: 16 }));
    const pos = describeModel(createModelConfig({ imageSize: 16, positionEmbedding: true }));
    const table = pos.decls.find((d) => d.name === "unet.pos");
    expect(table?.shape).toEqual([16, 16, 32]);
    expect(pos.paramCount - plain.paramCount).toBe(16 * 16 * 32);
    expect(pos.flopsPerImage.total).toBe(plain.flopsPerImage.total);
    const names = pos.decls.map((d) => d.name);
    expect(names.indexOf("unet.pos")).toBe(names.indexOf("unet.conv_in.b") + 1);
  });
});

describe("attention position tables", () => {
  it("attentionPositions adds one [size, size, c] table per cross-attention block, after its norm, and no FLOPs", () => {
    const plain = describeModel(createModelConfig({ imageSize: 16, attentionLevels: [1] }));
    const withPos = describeModel(
      createModelConfig({ imageSize: 16, attentionLevels: [1], attentionPositions: true }),
    );
    const tables = withPos.decls.filter(
      (d) => d.name.endsWith("attn0.pos") || d.name === "unet.mid.attn.pos",
    );
    expect(tables.map((d) => [d.name, d.shape])).toEqual([
      ["unet.down1.attn0.pos", [8, 8, 64]],
      ["unet.mid.attn.pos", [4, 4, 64]],
      ["unet.up1.attn0.pos", [8, 8, 64]],
    ]);
    expect(withPos.paramCount - plain.paramCount).toBe(2 * 8 * 8 * 64 + 4 * 4 * 64);
    expect(withPos.flopsPerImage.total).toBe(plain.flopsPerImage.total);
    const names = withPos.decls.map((d) => d.name);
    expect(names.indexOf("unet.mid.attn.pos")).toBe(names.indexOf("unet.mid.attn.norm.beta") + 1);
  });
});

describe("scaleShift (AdaGN)", () => {
  it("adds a zero-initialised [tdim, c] scale layer per ResBlock, before its shift layer", () => {
    const plain = describeModel(createModelConfig({ imageSize: 16, attentionLevels: [1] }));
    const ss = describeModel(createModelConfig({ imageSize: 16, attentionLevels: [1], scaleShift: true }));
    const scales = ss.decls.filter((d) => d.name.endsWith(".temb_scale.w"));
    const blocks = plain.decls.filter((d) => d.name.endsWith(".temb.w"));
    expect(scales.map((d) => d.name.replace(".temb_scale.w", ""))).toEqual(
      blocks.map((d) => d.name.replace(".temb.w", "")),
    );
    expect(scales.every((d) => d.init.kind === "zeros")).toBe(true);
    const added = scales.reduce((a, d) => a + (d.shape[0] ?? 0) * (d.shape[1] ?? 0) + (d.shape[1] ?? 0), 0);
    expect(ss.paramCount - plain.paramCount).toBe(added);
    const names = ss.decls.map((d) => d.name);
    expect(names.indexOf("unet.mid.res0.temb_scale.w")).toBeLessThan(names.indexOf("unet.mid.res0.temb.w"));
    expect(() => validateModelConfig({ ...DEFAULT_MODEL_CONFIG, scaleShift: 1 })).toThrow(
      /scaleShift must be a boolean/,
    );
  });
});

describe("textLayout", () => {
  it("adds a mean pool over the tokens and an MLP to an [s, s, c] bottleneck map, and nothing else", () => {
    const base = {
      imageSize: 16,
      attentionLevels: [1],
      channels: [16, 32, 48],
      text: { contextLength: 12 },
    } as const;
    const plain = describeModel(createModelConfig(base));
    const layout = describeModel(createModelConfig({ ...base, textLayout: true }));
    const added = layout.decls.filter((d) => d.name.startsWith("unet.layout."));
    expect(added.map((d) => [d.name, d.shape, d.init.kind])).toEqual([
      ["unet.layout.pool.w", [12, 1], "ones"],
      ["unet.layout.pool.b", [1], "zeros"],
      ["unet.layout.fc1.w", [64, 128], "normal"],
      ["unet.layout.fc1.b", [128], "zeros"],
      ["unet.layout.fc2.w", [128, 4 * 4 * 48], "normal"],
      ["unet.layout.fc2.b", [4 * 4 * 48], "zeros"],
    ]);
    expect(layout.paramCount - plain.paramCount).toBe(12 + 1 + 64 * 128 + 128 + 128 * 768 + 768);
    expect(layout.decls.filter((d) => !d.name.startsWith("unet.layout.")).map((d) => d.name)).toEqual(
      plain.decls.map((d) => d.name),
    );
    expect(() => validateModelConfig({ ...DEFAULT_MODEL_CONFIG, textLayout: "yes" })).toThrow(
      /textLayout must be a boolean/,
    );
  });
});

describe("positionInit: fourier", () => {
  it("starts every position table as a smooth coordinate basis: ramps, distinct positions, same graph", () => {
    const cfg = createModelConfig({
      imageSize: 16,
      attentionLevels: [1],
      positionEmbedding: true,
      attentionPositions: true,
      positionInit: "fourier",
    });
    const plain = describeModel({ ...cfg, positionInit: undefined });
    const spec = describeModel(cfg);
    expect(spec.decls.map((d) => [d.name, d.shape])).toEqual(plain.decls.map((d) => [d.name, d.shape])); // init only
    const w = initWeights(spec.decls, 1);
    expect(initWeights(spec.decls, 2).get("unet.pos")).toEqual(w.get("unet.pos")); // no randomness
    const pos = w.get("unet.pos");
    if (!pos) throw new Error("no unet.pos");
    const at = (y: number, x: number, j: number) => pos.data[(y * 16 + x) * 32 + j] ?? Number.NaN;
    // Channel 0 = amplitude·√2·sin(π/2·u): a left-to-right ramp, the same on every row; channel 2 the same top-down.
    for (let x = 1; x < 16; x++) expect(at(5, x, 0)).toBeGreaterThan(at(5, x - 1, 0));
    for (let y = 1; y < 16; y++) expect(at(y, 5, 2)).toBeGreaterThan(at(y - 1, 5, 2));
    expect(at(0, 7, 0)).toBe(at(15, 7, 0));
    expect(at(0, 15, 0)).toBeCloseTo(0.5 * Math.SQRT2 * Math.sin((Math.PI / 2) * (15.5 / 8 - 1)), 6);
    // Every pixel's vector differs from every other pixel's.
    const key = (y: number, x: number) =>
      Array.from({ length: 32 }, (_v, j) => at(y, x, j).toFixed(5)).join(",");
    const keys = new Set<string>();
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) keys.add(key(y, x));
    expect(keys.size).toBe(256);
    // Attention tables use amplitude 0.5: RMS over the table ≈ 0.5.
    const attn = w.get("unet.mid.attn.pos")?.data ?? new Float32Array();
    expect(Math.sqrt(attn.reduce((a, v) => a + v * v, 0) / attn.length)).toBeCloseTo(0.5, 1);
  });

  it("is refused on a table that is not [h, w, c] and as an unknown value", () => {
    expect(() =>
      initWeights([{ name: "x", shape: [4, 4], init: { kind: "fourier2d", amplitude: 1 } }], 1),
    ).toThrow(/fourier2d init needs an \[h, w, c\] table, x is \[4,4\]/);
    expect(() => validateModelConfig({ ...DEFAULT_MODEL_CONFIG, positionInit: "coords" })).toThrow(
      /positionInit must be "fourier" or absent/,
    );
  });
});

describe("model config validation", () => {
  const bad: [string, unknown, RegExp][] = [
    ["unknown family", { ...DEFAULT_MODEL_CONFIG, family: "huge" }, /unknown family "huge"/],
    [
      "image size not allowed",
      { ...DEFAULT_MODEL_CONFIG, imageSize: 28 },
      /imageSize must be one of 16, 24, 32/,
    ],
    [
      "image size not divisible",
      { ...DEFAULT_MODEL_CONFIG, imageSize: 24, channels: [8, 16, 16, 16, 16] },
      /not divisible by the downsampling factor 16/,
    ],
    [
      "groups do not divide channels",
      { ...DEFAULT_MODEL_CONFIG, channels: [32, 60, 64] },
      /60 is not divisible by groups=8/,
    ],
    ["attention level out of range", { ...DEFAULT_MODEL_CONFIG, attentionLevels: [3] }, /attentionLevels/],
    [
      "heads do not divide text dim",
      { ...DEFAULT_MODEL_CONFIG, text: { ...DEFAULT_MODEL_CONFIG.text, heads: 5 } },
      /text.heads/,
    ],
    ["not an object", null, /expected an object/],
    [
      "positionEmbedding not a boolean",
      { ...DEFAULT_MODEL_CONFIG, positionEmbedding: "yes" },
      /positionEmbedding must be a boolean/,
    ],
  ];
  it.each(bad)("rejects %s with INVALID_CONFIG", (_name, cfg, message) => {
    let err: unknown;
    try {
      validateModelConfig(cfg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KtoError);
    expect((err as KtoError).code).toBe("INVALID_CONFIG");
    expect((err as KtoError).message).toMatch(message);
  });

  it("accepts 16, 24 and 32 px", () => {
    for (const imageSize of [16, 24, 32] as const)
      expect(createModelConfig({ imageSize }).imageSize).toBe(imageSize);
  });
});
