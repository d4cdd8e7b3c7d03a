import { describe, expect, it } from "vitest";

import { buildVocabulary, Tokenizer } from "./tokenizer";

describe("Tokenizer", () => {
  const vocab = buildVocabulary(["a red circle", "a blue square on the left"]);
  const tok = new Tokenizer(vocab, 5);

  it("lowercases, splits on non-alphanumerics, maps unknowns to 1 and pads with 0", () => {
    expect(vocab.slice(0, 4)).toEqual(["<pad>", "<unk>", "a", "red"]);
    expect([...tok.encode("A RED, circle!")]).toEqual([2, 3, 4, 0, 0]);
    expect([...tok.encode("a green circle")]).toEqual([2, 1, 4, 0, 0]);
  });

  it("truncates to the context length; the empty prompt is all pads", () => {
    expect([...tok.encode("a blue square on the left a red")]).toEqual([2, 5, 6, 7, 8]);
    expect([...tok.encode("")]).toEqual([0, 0, 0, 0, 0]);
    expect([...tok.encode("  ,, ")]).toEqual([0, 0, 0, 0, 0]);
  });
});
