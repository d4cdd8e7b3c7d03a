// Model version folders offered for registration, hostile ones included: checkModelVersionFolder (the check
// `pnpm likewise models register` runs before touching the database) refuses each with one line naming the file;
// then the CLI as an operator runs it: exit 1 (2 for usage), no stack trace, and nothing half-published: no
// registered row, no folder left in the artifact store (folders that serving's verification refuses get a
// `rejected` row on purpose, so the admin page shows why).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterAll, describe, expect, inject, test } from "vitest";

import { createDb, getModelVersion } from "@likewise/db";

import { ArtifactFolderError, checkModelVersionFolder, readModelVersion } from "../artifact.ts";

const ROOT = resolve(import.meta.dirname, "..", "..", "..", "..");
const BASE = join(ROOT, "models", "base");
const home = mkdtempSync(join(tmpdir(), "likewise-cli-models-input-"));
const url = inject("databaseUrl");
const handle = createDb(url, { max: 2 });
const tag = Date.now().toString(36);
afterAll(async () => {
  await handle.close();
  rmSync(home, { recursive: true, force: true });
});

function likewise(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "apps/trainer/src/cli.ts", "models", ...args], {
    cwd: ROOT,
    env: { ...process.env, LIKEWISE_HOME: home, DATABASE_URL: url },
    encoding: "utf8",
    timeout: 180_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let n = 0;
/** A copy of models/base under a fresh id, changed by `edit` (which gets the folder and its parsed manifest). */
function folder(edit: (dir: string, manifest: Record<string, unknown>) => void): { dir: string; id: string } {
  const id = `input-${tag}-${n++}`;
  const dir = join(home, "in", id);
  cpSync(BASE, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Record<string, unknown>;
  manifest.id = id;
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  edit(dir, manifest);
  return { dir, id };
}
const writeManifest = (dir: string, m: unknown) =>
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(m));
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

async function status(id: string): Promise<string | null> {
  return getModelVersion(handle.db, id).then(
    (v) => v.status,
    () => null,
  );
}

/** Refused with `message`, exit `code`, no stack; not registered and nothing in the store. */
async function refused(r: ReturnType<typeof likewise>, code: number, message: RegExp, id?: string) {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).not.toMatch(/registered/);
  if (id) {
    expect(await status(id)).not.toBe("registered");
    expect(existsSync(join(home, "models", id))).toBe(false);
  }
}

/** checkModelVersionFolder refuses `dir` with a message matching `message`. */
async function badFolder(dir: string, message: RegExp) {
  const e = await checkModelVersionFolder(dir).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ArtifactFolderError);
  expect((e as Error).message).toMatch(message);
}

describe("checkModelVersionFolder", () => {
  test("accepts models/base and reads its manifest", async () => {
    expect((await checkModelVersionFolder(BASE)).manifest.id).toBe("base");
  });

  test("not a folder, no manifest, empty, cut short, binary, not UTF-8, oversized or not an object", async () => {
    await badFolder(join(home, "nowhere"), /nowhere does not exist$/);
    const file = join(home, "a-file.txt");
    writeFileSync(file, "hello");
    await badFolder(file, /a-file\.txt is not a folder/);
    await badFolder(folder((d) => rmSync(join(d, "manifest.json"))).dir, /manifest\.json is missing$/);
    await badFolder(
      folder((d) => writeFileSync(join(d, "manifest.json"), " \n")).dir,
      /manifest\.json is empty$/,
    );
    const cut = folder((d) => {
      const text = readFileSync(join(d, "manifest.json"), "utf8");
      writeFileSync(join(d, "manifest.json"), text.slice(0, Math.floor(text.length / 2)));
    });
    await badFolder(cut.dir, /manifest\.json is not valid JSON \(.*\): cut short\?$/);
    await badFolder(
      folder((d) => writeFileSync(join(d, "manifest.json"), '{"id": "x", oops}')).dir,
      /manifest\.json is not valid JSON \([^)]*\)$/,
    );
    const binary = folder((d) =>
      writeFileSync(join(d, "manifest.json"), readFileSync(join(d, "model.onnx")).subarray(0, 4096)),
    );
    await badFolder(binary.dir, /manifest\.json is binary \(it contains NUL bytes\)/);
    const latin1 = folder((d) =>
      writeFileSync(join(d, "manifest.json"), Buffer.from('{"id": "caf\xe9"}', "latin1")),
    );
    await badFolder(latin1.dir, /manifest\.json is not UTF-8 text/);
    const huge = folder((d) =>
      writeFileSync(join(d, "manifest.json"), `{"pad": "${"x".repeat(17 * 1024 * 1024)}"}`),
    );
    await badFolder(huge.dir, /manifest\.json is \d+ bytes; at most 16777216 expected/);
    await badFolder(folder((d) => writeManifest(d, [1, 2, 3])).dir, /manifest\.json: expected a JSON object/);
    // A BOM (as some editors write) is not a problem.
    const bom = folder((d) =>
      writeFileSync(join(d, "manifest.json"), `\uFEFF${readFileSync(join(d, "manifest.json"), "utf8")}`),
    );
    expect((await checkModelVersionFolder(bom.dir)).manifest.id).toBe(bom.id);
  });

  test("symlinks, truncated or mismatched weights, traversal and wrong types in the weights entry", async () => {
    const link = folder((d) => {
      rmSync(join(d, "model.onnx"));
      symlinkSync(join(BASE, "model.onnx"), join(d, "model.onnx"));
    });
    await badFolder(link.dir, /model\.onnx is a symbolic link/);
    await badFolder(folder((d) => symlinkSync("/etc", join(d, "extra"))).dir, /extra is a symbolic link/);
    const truncated = folder((d) => truncateSync(join(d, "weights.bin"), 1000));
    await badFolder(
      truncated.dir,
      /weights\.bin: sha256 [0-9a-f]{64} differs from the manifest's [0-9a-f]{64} \(truncated or replaced\?\)/,
    );
    // Truncated with the hash updated to match: the index no longer describes the binary.
    const rehashed = folder((d, m) => {
      truncateSync(join(d, "weights.bin"), 1000);
      writeManifest(d, {
        ...m,
        weights: { ...(m.weights as object), sha256: sha256(join(d, "weights.bin")) },
      });
    });
    await badFolder(rehashed.dir, /weights\.json does not describe weights\.bin: .*bin has 1000 bytes/);
    const traversal = folder((d, m) =>
      writeManifest(d, { ...m, weights: { ...(m.weights as object), file: "../../../../etc/passwd" } }),
    );
    await badFolder(traversal.dir, /"\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is not a plain file name/);
    await badFolder(
      folder((d, m) => writeManifest(d, { ...m, weights: { ...(m.weights as object), sha256: 42 } })).dir,
      /weights\.sha256 must be a non-empty string/,
    );
    await badFolder(
      folder((d, m) => writeManifest(d, { ...m, weights: "weights.bin" })).dir,
      /weights: expected a JSON object/,
    );
    const index = folder((d) =>
      writeFileSync(join(d, "weights.json"), '{"format": "likewise-weights", "tensors": "all"}'),
    );
    await badFolder(index.dir, /weights\.json does not describe weights\.bin: .*unknown index format/);
    // The trainer reads parents for further training through the same checks.
    await expect(readModelVersion(truncated.dir)).rejects.toThrow(/weights\.bin: sha256 .* differs/);
    await expect(readModelVersion(traversal.dir)).rejects.toThrow(ArtifactFolderError);
    expect((await readModelVersion(BASE)).weights.size).toBeGreaterThan(10);
  });
});

describe("likewise models register", () => {
  test("a bad folder exits 1 with one line; garbage ONNX gets a rejected row; nothing is stored", async () => {
    await refused(
      likewise("register", "--dir", join(home, "nowhere")),
      1,
      /^likewise models: model version refused: .*nowhere does not exist\n$/,
    );
    const traversal = folder((d, m) =>
      writeManifest(d, { ...m, weights: { ...(m.weights as object), file: "../x" } }),
    );
    await refused(likewise("register", "--dir", traversal.dir), 1, /is not a plain file name/, traversal.id);
    expect(await status(traversal.id)).toBeNull();
    const garbage = folder((d, m) => {
      writeFileSync(join(d, "model.onnx"), Buffer.from("not an onnx model ".repeat(100)));
      writeManifest(d, { ...m, onnx: { ...(m.onnx as object), sha256: sha256(join(d, "model.onnx")) } });
    });
    await refused(
      likewise("register", "--dir", garbage.dir),
      1,
      /model version refused \(RUNTIME_ERROR\)/,
      garbage.id,
    );
    expect(await status(garbage.id)).toBe("rejected");
  });

  test("ids: a bad --id is a usage error, a bad manifest id asks for --id, an existing id or a stray store folder is refused", async () => {
    const ok = folder(() => undefined);
    await refused(
      likewise("register", "--dir", ok.dir, "--id", "../escape"),
      2,
      /--id "\.\.\/escape": a version id is 1–100 letters/,
    );
    const slash = folder((d, m) => writeManifest(d, { ...m, id: "a/b" }));
    await refused(
      likewise("register", "--dir", slash.dir),
      1,
      /the manifest's id "a\/b" cannot name a version .*pass --id/,
    );

    // A version that failed verification keeps its id (rejected row); registering a fixed folder under it is
    // refused up front instead of copying into the store and then failing on the duplicate row.
    const rejected = folder((d, m) =>
      writeManifest(d, { ...m, onnx: { ...(m.onnx as object), sha256: "0".repeat(64) } }),
    );
    await refused(likewise("register", "--dir", rejected.dir), 1, /HASH_MISMATCH/);
    expect(await status(rejected.id)).toBe("rejected");
    await refused(
      likewise("register", "--dir", ok.dir, "--id", rejected.id),
      1,
      new RegExp(`model version ${rejected.id} already exists \\(rejected\\)`),
      rejected.id,
    );

    const stray = join(home, "models", `stray-${tag}`);
    mkdirSync(stray, { recursive: true });
    await refused(
      likewise("register", "--dir", ok.dir, "--id", `stray-${tag}`),
      1,
      /already holds .*stray-.*, which no model version records/,
    );

    // Through a link to the folder: the target is checked and copied (the store holds a real folder).
    const link = join(home, `link-${tag}`);
    symlinkSync(ok.dir, link);
    const good = likewise("register", "--dir", link);
    expect(good.code, good.stderr).toBe(0);
    expect(await status(ok.id)).toBe("registered");
    expect(lstatSync(join(home, "models", ok.id)).isDirectory()).toBe(true);
    await refused(
      likewise("register", "--dir", ok.dir),
      1,
      new RegExp(`model version ${ok.id} already exists \\(registered\\)`),
    );
  });
});
