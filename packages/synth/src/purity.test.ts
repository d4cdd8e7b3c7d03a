import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * synth is a pure-compute leaf (DESIGN.md): no workspace imports, no I/O, no clock, no unseeded
 * randomness. The root ESLint config only enforces this for kto, so this test does it here.
 */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory()
      ? sources(join(dir, d.name))
      : d.name.endsWith(".ts") && !d.name.endsWith(".test.ts")
        ? [join(dir, d.name)]
        : [],
  );
}

describe("synth purity", () => {
  const files = sources(import.meta.dirname);
  it("finds the sources", () => expect(files.length).toBeGreaterThan(10));
  for (const [label, pattern] of [
    ["Math.random", /Math\.random/],
    ["Date.now / new Date", /Date\.now|new Date\(/],
    ["process.env", /process\.env/],
    ["node: or fs imports", /from "(node:|fs|path|child_process)/],
    ["workspace imports", /from "@likewise\//],
    ["third-party imports", /from "(?!\.)/],
  ] as const) {
    it(`uses no ${label}`, () => {
      // Comments may name what the code avoids; only code counts.
      const code = (f: string): string =>
        readFileSync(f, "utf8")
          .replace(/\/\*[\s\S]*?\*\//g, "")
          .replace(/^\s*\/\/.*$/gm, "");
      const offenders = files.filter((f) => pattern.test(code(f)));
      expect(offenders).toEqual([]);
    });
  }
});
