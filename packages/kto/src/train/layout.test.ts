import { describe, expect, it } from "vitest";

import { parameterPatterns } from "./layout";

describe("parameterPatterns", () => {
  const names = [
    "unet.up1.attn0.q.w",
    "unet.up1.attn0.q.b",
    "unet.mid.res0.norm1.beta",
    "unet.out.w",
    "unetXout.w",
  ];

  it("matches whole names, * spanning dots, and takes every other character literally", () => {
    const p = parameterPatterns(["unet.*attn*", "*.b", "unet.out.*"], names);
    expect(names.filter(p.matches)).toEqual(["unet.up1.attn0.q.w", "unet.up1.attn0.q.b", "unet.out.w"]);
    expect(p.unmatched).toEqual([]);
    // "." is a literal dot, not "any character": unetXout.w is not unet.out.w; "*.b" does not match ".beta".
    expect(p.matches("unetXout.w")).toBe(false);
    expect(p.matches("unet.mid.res0.norm1.beta")).toBe(false);
  });

  it("names the patterns that match no parameter", () => {
    expect(parameterPatterns(["unet.mid.*", "unet.atn*", "(unet"], names).unmatched).toEqual([
      "unet.atn*",
      "(unet",
    ]);
  });
});
