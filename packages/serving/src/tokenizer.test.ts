import { describe, expect, test } from "vitest";

import { splitWords, Tokenizer } from "./tokenizer";

const VOCAB = ["<pad>", "<unk>", "a", "red", "circle", "on", "blue", "background", "2"];

describe("Tokenizer", () => {
  const tok = new Tokenizer(VOCAB, 6);

  test("lowercases, splits on non-alphanumerics, drops empties", () => {
    expect(splitWords("  A RED-circle,on__blue!! background 2x ")).toEqual([
      "a",
      "red",
      "circle",
      "on",
      "blue",
      "background",
      "2x",
    ]);
    expect(splitWords("")).toEqual([]);
    expect(splitWords("¡¿…")).toEqual([]);
  });

  test("maps words, unknown → 1, pads with 0 (golden)", () => {
    const r = tok.encode("A red triangle");
    expect(Array.from(r.ids)).toEqual([2, 3, 1, 0, 0, 0]);
    expect(r.unknownWords).toEqual(["triangle"]);
    expect(r.isTruncated).toBe(false);
  });

  test("truncates to contextLength and reports it", () => {
    const r = tok.encode("a red circle on blue background 2");
    expect(Array.from(r.ids)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(r.isTruncated).toBe(true);
  });

  test("the empty prompt is all pads (the unconditional input)", () => {
    expect(Array.from(tok.encode("").ids)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(tok.encode(" ,. ").ids)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test("encodeBatch gives row-major int64 [N, L]", () => {
    expect(Array.from(tok.encodeBatch(["red", "blue circle"]))).toEqual([
      3n,
      0n,
      0n,
      0n,
      0n,
      0n,
      6n,
      4n,
      0n,
      0n,
      0n,
      0n,
    ]);
  });

  test("rejects a vocabulary without the special tokens", () => {
    expect(() => new Tokenizer(["a", "b"], 4)).toThrow(/<pad>/);
    expect(() => new Tokenizer(VOCAB, 0)).toThrow(/contextLength/);
  });
});
