// Rater spec files given to `--raters` (simulate; the same reader serves any command that takes one), hostile ones
// included: every refusal is a usage error (exit 2) naming the argument and the problem, never a stack trace.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterAll, describe, expect, test } from "vitest";

import { RATER_PRESET_SPECS } from "@likewise/synth";

import { CliError } from "./errors.ts";
import { MAX_RATER_SPEC_BYTES, readRaterSpec } from "./simulate.ts";

const ROOT = resolve(import.meta.dirname, "..", "..", "..", "..");
const dir = mkdtempSync(join(tmpdir(), "likewise-rater-spec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: string | Buffer): string {
  const p = join(dir, `spec-${n++}.json`);
  writeFileSync(p, content);
  return p;
}
const valid = JSON.stringify(RATER_PRESET_SPECS.default, null, 2);

async function refusal(arg: string): Promise<string> {
  const e = await readRaterSpec(arg).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CliError);
  expect((e as CliError).exitCode).toBe(2);
  expect((e as CliError).message.startsWith(`--raters ${arg}: `)).toBe(true);
  return (e as CliError).message.slice(`--raters ${arg}: `.length);
}

describe("readRaterSpec", () => {
  test("presets by name; a valid file, also with a BOM and CRLF line ends", async () => {
    expect((await readRaterSpec("warm")).name).toBe("warm");
    expect((await readRaterSpec(file(valid))).population).toHaveLength(2);
    expect((await readRaterSpec(file(`\uFEFF${valid.replace(/\n/g, "\r\n")}`))).name).toBe("default");
  });

  test("missing, a folder, oversized, binary, not UTF-8, empty, cut short or not JSON", async () => {
    expect(await refusal(join(dir, "nope.json"))).toBe(
      "neither a preset (default, fidelity, warm, aesthetic-threshold, red) nor a file",
    );
    const folder = join(dir, "folder.json");
    mkdirSync(folder);
    expect(await refusal(folder)).toBe("not a regular file (a rater spec is a JSON file)");
    const big = file(`${valid}${" ".repeat(MAX_RATER_SPEC_BYTES)}`);
    expect(await refusal(big)).toMatch(/^\d+ bytes; a rater spec file is at most 1048576$/);
    const png = readFileSync(join(ROOT, "docs", "screenshots", readPng()));
    expect(await refusal(file(png))).toBe("binary (it contains NUL bytes), not a JSON text file");
    expect(await refusal(file(Buffer.from('{"name": "caf\xe9"}', "latin1")))).toBe("not UTF-8 text");
    expect(await refusal(file("  \n"))).toBe("the file is empty");
    expect(await refusal(file(valid.slice(0, 200)))).toMatch(/^spec: not valid JSON \(.*\) \(cut short\?\)$/);
    expect(await refusal(file("name: default\npopulation: []\n"))).toMatch(/^spec: not valid JSON \(/);
  });

  test("wrong types, hostile keys and values: the spec's issues by field, at most ten shown", async () => {
    expect(await refusal(file("[1, 2]"))).toBe("invalid rater spec: spec: must be an object, got [1,2]");
    expect(await refusal(file('{"name": 7, "population": "everyone"}'))).toMatch(
      /^invalid rater spec: spec\.name: must be a non-empty string, got 7; spec\.population: must be a non-empty array/,
    );
    const proto = JSON.stringify({
      ...(RATER_PRESET_SPECS.default as object),
      ["__proto__"]: { polluted: true },
    });
    expect(proto).toContain('"__proto__":{"polluted":true}');
    expect(await refusal(file(proto))).toMatch(/spec\.__proto__: unknown field/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const persona = (i: number) => ({
      name: `p${i}`,
      share: 1e308,
      kind: "logistic",
      weights: { fidelity: "<script>alert(1)</script>" },
      bias: -1,
      noise: -1,
    });
    const many = JSON.stringify({
      name: "many",
      population: Array.from({ length: 500 }, (_, i) => persona(i)),
    });
    const message = await refusal(file(many));
    expect(message).toMatch(/^invalid rater spec: spec\.population\[0\]\./);
    expect(message).toMatch(/ … and \d+ more$/);
    expect(message.split("; ")).toHaveLength(10);
    expect(message.length).toBeLessThan(2000);
  });
});

describe("likewise simulate --raters <file>", () => {
  test("exits 2 with one line and no stack trace", () => {
    const bad = file('{"name": "x", "population": [');
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "apps/trainer/src/cli.ts", "simulate", "--raters", bad],
      {
        cwd: ROOT,
        env: { ...process.env, LIKEWISE_HOME: dir },
        encoding: "utf8",
        timeout: 120_000,
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^likewise simulate: --raters .*: spec: not valid JSON \(.*\) \(cut short\?\)\n$/,
    );
  });
});

/** Any committed PNG (a binary file). */
function readPng(): string {
  const png = readdirSync(join(ROOT, "docs", "screenshots")).find((x) => x.endsWith(".png"));
  if (!png) throw new Error("no PNG in docs/screenshots");
  return png;
}
