import { describe, expect, it } from "vitest";

import { isSynthError } from "../errors";
import { fromFloat32, imagesToFloat32Batch, toFloat32 } from "../image";
import { createRng } from "../rng";
import { BACKGROUND_STYLES, COLOURS, POSITIONS, SHAPES, SIZES } from "./attributes";
import {
  CAPTION_VOCABULARY,
  formatCaption,
  MAX_CAPTION_WORDS,
  parseCaption,
  shortenDescription,
  tryParseCaption,
} from "./caption";
import { sampleBatch, sampleExample, sampleFloatBatch } from "./dataset";
import { evaluationPrompts } from "./eval-prompts";
import { CLEAN_MIX, cleanShare, DEFAULT_TRAINING_MIX, FLAW_KINDS } from "./flaws";
import { completeScene, fullDescription, sampleScene, type Description, type SceneOptions } from "./scene";

/** FNV-1a over bytes: a compact fingerprint for "bit-identical" checks. */
function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16);
}

describe("generator determinism", () => {
  it("gives bit-identical images and captions for the same (seed, index)", () => {
    for (const size of [16, 32] as const) {
      const a = sampleBatch(42, 3, 8, { size });
      const b = sampleBatch(42, 3, 8, { size });
      expect(a.map((e) => e.caption)).toEqual(b.map((e) => e.caption));
      a.forEach((e, i) =>
        expect(Buffer.from(e.image.data).equals(Buffer.from(b[i]?.image.data ?? new Uint8Array()))).toBe(
          true,
        ),
      );
      expect(a.map((e) => e.flaws)).toEqual(b.map((e) => e.flaws));
    }
  });

  it("is addressable: batch b of size n holds examples b·n … b·n + n − 1", () => {
    const batch = sampleBatch(7, 2, 4, { size: 16 });
    batch.forEach((e, i) =>
      expect(fingerprint(e.image.data)).toBe(fingerprint(sampleExample(7, 8 + i, { size: 16 }).image.data)),
    );
  });

  it("pins a golden fingerprint so an accidental change to the world is noticed", () => {
    const e = sampleExample(2026, 0, { size: 16 });
    // Regenerate (and say why in the commit) only when the world is changed on purpose.
    expect({ caption: e.caption, hash: fingerprint(e.image.data) }).toMatchInlineSnapshot(`
      {
        "caption": "a medium red star at the top left",
        "hash": "e36eae91",
      }
    `);
  });

  it("varies with the seed and the index", () => {
    const prints = new Set<string>();
    for (let i = 0; i < 20; i++) prints.add(fingerprint(sampleExample(1, i, { size: 16 }).image.data));
    prints.add(fingerprint(sampleExample(2, 0, { size: 16 }).image.data));
    expect(prints.size).toBe(21);
  });

  it("renders RGB8 HWC at 16, 24 and 32 px and rejects other sizes", () => {
    for (const size of [16, 24, 32] as const) {
      const { image } = sampleExample(0, 0, { size });
      expect([image.width, image.height, image.data.length]).toEqual([size, size, size * size * 3]);
    }
    expect(() => sampleExample(0, 0, { size: 20 as 16 })).toThrow(/size must be one of 16, 24, 32/);
    expect(() => sampleExample(0, 0, { scene: { twoObjectRate: 1.5 } })).toThrow(
      /scene\.twoObjectRate must be a probability/,
    );
    expect(() => sampleExample(0, 0, { caption: { attributeDropRate: -0.1 } })).toThrow(
      /caption\.attributeDropRate must be a probability/,
    );
  });
});

describe("captions", () => {
  it("round-trip: parseCaption(formatCaption(d)) recovers exactly what the caption specifies", () => {
    for (let i = 0; i < 2000; i++) {
      const e = sampleExample(99, i, { size: 16, supersample: 1 });
      expect(parseCaption(e.caption)).toEqual(e.description);
      expect(formatCaption(parseCaption(e.caption))).toBe(e.caption);
    }
  });

  it("round-trip the full description of random scenes", () => {
    const rng = createRng(5);
    for (let i = 0; i < 500; i++) {
      const d = fullDescription(sampleScene(rng, { twoObjectRate: 0.5 }));
      expect(parseCaption(formatCaption(d))).toEqual(d);
    }
  });

  it("round-trip every single-object attribute combination", () => {
    for (const shape of [...SHAPES, undefined]) {
      for (const colour of [...COLOURS, undefined]) {
        for (const size of [...SIZES, undefined]) {
          for (const position of [...POSITIONS, undefined]) {
            const obj = Object.fromEntries(
              Object.entries({ shape, colour, size, position }).filter(([, v]) => v !== undefined),
            );
            for (const style of [...BACKGROUND_STYLES, undefined]) {
              const d: Description = {
                objects: [obj],
                background: style === undefined ? { colour: "blue" } : { style },
              };
              expect(parseCaption(formatCaption(d))).toEqual(d);
            }
          }
        }
      }
    }
  });

  it("includes partial captions", () => {
    const captions = Array.from(
      { length: 300 },
      (_, i) => sampleExample(3, i, { size: 16, supersample: 1 }).description,
    );
    expect(captions.some((d) => d.objects.some((o) => o.shape === undefined))).toBe(true);
    expect(captions.some((d) => d.objects.some((o) => o.colour === undefined))).toBe(true);
    expect(captions.some((d) => d.background === undefined)).toBe(true);
    expect(captions.some((d) => d.objects.length === 2)).toBe(true);
  });

  it("uses only words from CAPTION_VOCABULARY and at most MAX_CAPTION_WORDS of them", () => {
    const vocab = new Set(CAPTION_VOCABULARY);
    const seen = new Set<string>();
    let longest = 0;
    for (let i = 0; i < 3000; i++) {
      const words = sampleExample(4, i, {
        size: 16,
        supersample: 1,
        scene: { twoObjectRate: 0.5 },
      }).caption.split(" ");
      longest = Math.max(longest, words.length);
      for (const w of words) {
        expect(vocab.has(w)).toBe(true);
        seen.add(w);
      }
    }
    expect(longest).toBeLessThanOrEqual(MAX_CAPTION_WORDS);
    expect([...vocab].filter((w) => !seen.has(w))).toEqual([]);
  });

  it("maxWords shortens captions by dropping background, then positions, sizes, colours — never shapes", () => {
    for (const maxWords of [5, 8, 12]) {
      for (let i = 0; i < 300; i++) {
        // Clean mix: a swap flaw would pick its attribute among the ones left after shortening.
        const e = sampleExample(13, i, {
          size: 16,
          supersample: 1,
          mix: CLEAN_MIX,
          caption: { maxWords },
          scene: { twoObjectRate: 0.5 },
        });
        const full = sampleExample(13, i, {
          size: 16,
          supersample: 1,
          mix: CLEAN_MIX,
          scene: { twoObjectRate: 0.5 },
        });
        expect(e.caption.split(" ").length).toBeLessThanOrEqual(maxWords);
        expect(parseCaption(e.caption)).toEqual(e.description);
        e.description.objects.forEach((o, k) => expect(o.shape).toBe(full.description.objects[k]?.shape));
      }
    }
    expect(
      shortenDescription(
        { objects: [{ shape: "star", colour: "red" }], background: { colour: "blue", style: "solid" } },
        7,
      ),
    ).toEqual({
      objects: [{ shape: "star", colour: "red" }],
      background: { colour: "blue" },
    });
    expect(() => sampleExample(0, 0, { caption: { maxWords: 4 } })).toThrow(
      /maxWords must be an integer ≥ 5/,
    );
  });

  it("splits words like the tokenizer: case and punctuation do not matter", () => {
    expect(parseCaption("A Large RED circle, on a blue background.")).toEqual(
      parseCaption("a large red circle on a blue background"),
    );
    expect(tryParseCaption("a cat on a mat")).toBeNull();
  });

  it("rejects ungrammatical captions naming the offending word", () => {
    const bad = (c: string, pattern: RegExp): void => {
      try {
        parseCaption(c);
        expect.unreachable(`"${c}" should not parse`);
      } catch (e) {
        expect(isSynthError(e, "INVALID_CAPTION")).toBe(true);
        expect((e as Error).message).toMatch(pattern);
      }
    };
    bad("a red dog", /expected "shape" at word 3, got "dog"/);
    bad("red circle", /expected "a" or "an" at word 1/);
    bad("a circle on a background", /colour or style/);
    bad("a circle at the middle", /"top" or "bottom"/);
    bad("a circle and a square and a star", /expected "on" at word 6, got "and"/);
    bad("", /end of caption/);
  });
});

describe("training distribution", () => {
  it("exports the flaw mix as data, one entry per flaw kind but blotch, ~60% flawed", () => {
    expect(DEFAULT_TRAINING_MIX.flaws.map((f) => f.kind).sort()).toEqual(
      FLAW_KINDS.filter((k) => k !== "blotch").sort(),
    );
    expect(cleanShare(DEFAULT_TRAINING_MIX)).toBeCloseTo(0.403, 2);
    expect(cleanShare(CLEAN_MIX)).toBe(1);
  });

  it("applies flaws at their documented rates", () => {
    const n = 1500;
    const counts = Object.fromEntries(FLAW_KINDS.map((k) => [k, 0])) as Record<string, number>;
    let clean = 0;
    for (let i = 0; i < n; i++) {
      // Only the flaw draw matters here; 16 px without supersampling keeps it fast.
      const flaws = sampleExample(8, i, { size: 16, supersample: 1 }).flaws;
      if (flaws.length === 0) clean++;
      for (const f of flaws) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
    }
    for (const f of DEFAULT_TRAINING_MIX.flaws) {
      const sd = Math.sqrt((f.rate * (1 - f.rate)) / n);
      expect(Math.abs((counts[f.kind] ?? 0) / n - f.rate)).toBeLessThan(4 * sd);
    }
    expect(Math.abs(clean / n - cleanShare(DEFAULT_TRAINING_MIX))).toBeLessThan(0.05);
  });

  it("a swap makes the caption disagree with the scene; clean examples agree", () => {
    for (let i = 0; i < 200; i++) {
      const e = sampleExample(12, i, {
        size: 16,
        supersample: 1,
        mix: { flaws: [{ kind: "swap", rate: 1, strength: [1, 1] }] },
      });
      const truth = fullDescription(e.scene);
      const lies =
        e.description.objects.some((o, k) =>
          Object.entries(o).some(([key, v]) => (truth.objects[k] as Record<string, unknown>)[key] !== v),
        ) ||
        Object.entries(e.description.background ?? {}).some(
          ([key, v]) => (truth.background as Record<string, unknown>)[key] !== v,
        );
      expect(lies).toBe(true);
    }
  });

  it("rejects an invalid mix naming the entry", () => {
    expect(() =>
      sampleExample(0, 0, { mix: { flaws: [{ kind: "blur", rate: 1.5, strength: [0, 1] }] } }),
    ).toThrow(/mix\.flaws\[0\]\.rate/);
    expect(() =>
      sampleExample(0, 0, { mix: { flaws: [{ kind: "smudge" as "blur", rate: 0.5, strength: [0, 1] }] } }),
    ).toThrow(/mix\.flaws\[0\]\.kind/);
  });
});

describe("a narrower world (scene restrictions, for curriculum stages)", () => {
  it("draws only the listed values, keeps every position, and keeps colours apart", () => {
    const scene = {
      shapes: ["square"],
      colours: ["red", "yellow", "green"],
      sizes: ["medium", "large"],
      backgrounds: ["blue", "red"],
      styles: ["solid"],
      twoObjectRate: 0.3,
    } as const;
    const seen = {
      positions: new Set<string>(),
      colours: new Set<string>(),
      sizes: new Set<string>(),
      pairs: 0,
    };
    for (let i = 0; i < 600; i++) {
      const s = sampleScene(createRng(11, i), scene);
      expect(scene.backgrounds).toContain(s.background.colour);
      expect(s.background.style).toBe("solid");
      if (s.objects.length === 2) seen.pairs += 1;
      for (const o of s.objects) {
        expect(o.shape).toBe("square");
        expect(scene.colours).toContain(o.colour);
        expect(o.colour).not.toBe(s.background.colour);
        expect(s.objects.length === 2 ? ["medium"] : scene.sizes).toContain(o.size); // pairs: small/medium only
        seen.positions.add(o.position);
        seen.colours.add(o.colour);
        seen.sizes.add(o.size);
      }
      if (s.objects.length === 2) expect(s.objects[0]?.colour).not.toBe(s.objects[1]?.colour);
    }
    expect(seen.positions.size).toBe(POSITIONS.length);
    expect([...seen.colours].sort()).toEqual(["green", "red", "yellow"]);
    expect(seen.sizes.size).toBe(2);
    expect(seen.pairs).toBeGreaterThan(120); // ≈ 180 of 600
  });

  it("leaves the unrestricted world exactly as it was (same draws with the full lists given explicitly)", () => {
    const full = {
      shapes: SHAPES,
      colours: COLOURS,
      sizes: SIZES,
      backgrounds: COLOURS,
      styles: BACKGROUND_STYLES,
    };
    for (let i = 0; i < 50; i++) {
      expect(sampleScene(createRng(12, i), full)).toEqual(sampleScene(createRng(12, i)));
    }
  });

  it("rejects restrictions that cannot produce a scene, saying why", () => {
    const bad: Array<[SceneOptions, RegExp]> = [
      [{ shapes: [] }, /scene\.shapes must be a non-empty list/],
      [{ colours: ["red", "crimson" as "red"] }, /scene\.colours: unknown value "crimson"/],
      [{ sizes: ["large", "large"] }, /scene\.sizes lists a value twice/],
      [
        { colours: ["red"], backgrounds: ["red", "blue"], twoObjectRate: 0 },
        /0 object colours on a red background; need 1/,
      ],
      [
        { colours: ["red", "blue"], backgrounds: ["blue"] },
        /1 object colour on a blue background; two-object scenes need 2/,
      ],
      [{ sizes: ["large"] }, /scene\.sizes must include small or medium/],
    ];
    for (const [scene, message] of bad) {
      let error: unknown;
      try {
        sampleExample(0, 0, { size: 16, scene });
      } catch (e) {
        error = e;
      }
      expect(isSynthError(error) && error.code === "INVALID_OPTIONS", String(error)).toBe(true);
      expect(String(error)).toMatch(message);
    }
    expect(() =>
      sampleExample(0, 0, { size: 16, scene: { sizes: ["large"], twoObjectRate: 0 } }),
    ).not.toThrow();
  });
});

describe("completeScene", () => {
  it("keeps every attribute a description states and fills the rest", () => {
    const rng = createRng(77);
    for (let i = 0; i < 500; i++) {
      const d = sampleExample(14, i, { size: 16, supersample: 1, mix: CLEAN_MIX }).description;
      const full = fullDescription(completeScene(d, rng));
      d.objects.forEach((o, k) => expect(full.objects[k]).toMatchObject(o));
      if (d.background !== undefined) expect(full.background).toMatchObject(d.background);
    }
  });
});

describe("evaluation prompts", () => {
  it("are fixed, grammatical, fully specified and balanced", () => {
    const prompts = evaluationPrompts(50);
    expect(evaluationPrompts(50)).toEqual(prompts);
    const shapes = new Map<string, number>();
    for (const p of prompts) {
      expect(parseCaption(p.caption)).toEqual(p.description);
      for (const o of p.description.objects)
        expect(Object.keys(o).sort()).toEqual(["colour", "position", "shape", "size"]);
      const bg = p.description.background?.colour;
      expect(p.description.objects.every((o) => o.colour !== bg)).toBe(true);
      const first = p.description.objects[0]?.shape ?? "";
      shapes.set(first, (shapes.get(first) ?? 0) + 1);
    }
    expect([...shapes.values()]).toEqual([10, 10, 10, 10, 10]);
    expect(prompts.filter((p) => p.description.objects.length === 2)).toHaveLength(10);
  });
});

describe("float conversion", () => {
  it("maps RGB8 to [−1, 1] and back exactly", () => {
    const { image } = sampleExample(1, 1, { size: 16 });
    const f = toFloat32(image);
    expect(Math.min(...f)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...f)).toBeLessThanOrEqual(1);
    expect(fromFloat32(f, 16, 16).data).toEqual(image.data);
    expect(fromFloat32([2, -3, 0], 1, 1).data).toEqual(Uint8Array.from([255, 0, 128]));
    const batch = imagesToFloat32Batch([image, image]);
    expect(batch.length).toBe(2 * 16 * 16 * 3);
    expect(batch.subarray(16 * 16 * 3)).toEqual(f);
    const fb = sampleFloatBatch(1, 0, 3, { size: 16 });
    expect(fb.images.length).toBe(3 * 16 * 16 * 3);
    expect(fb.captions).toEqual(sampleBatch(1, 0, 3, { size: 16 }).map((e) => e.caption));
  });
});
