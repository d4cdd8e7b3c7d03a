// The trainer CLI's option readers: values inside the range pass, anything else is a usage error (exit code 2) that
// names the option — including a blank value, which Number() would read as 0.
import { describe, expect, it } from "vitest";

import { intOption, numberOption } from "./args.ts";
import { CliError } from "./errors.ts";

describe("option readers", () => {
  it("read values in range and fall back when absent", () => {
    expect(intOption("7", "steps", 1, 1, 10)).toBe(7);
    expect(intOption(undefined, "steps", 3, 1, 10)).toBe(3);
    expect(numberOption("0", "eta", 1, 0, 1)).toBe(0);
    expect(numberOption(undefined, "eta", 1, 0, 1)).toBe(1);
  });

  it("refuse blank, non-numeric and out-of-range values with exit code 2, naming the option", () => {
    for (const bad of ["", " ", "x", "1.5", "-1"]) {
      expect(() => numberOption(bad, "eta", 1, 0, 1)).toThrow(CliError);
      expect(() => numberOption(bad, "eta", 1, 0, 1)).toThrow(
        `--eta must be a number in 0..1 (got "${bad}")`,
      );
    }
    for (const bad of ["", "2.5", "11"])
      expect(() => intOption(bad, "steps", 1, 0, 10)).toThrow(
        `--steps must be an integer in 0..10 (got "${bad}")`,
      );
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return null;
    };
    expect(thrown(() => intOption("", "steps", 1, 0, 10))).toMatchObject({ exitCode: 2 });
  });
});
