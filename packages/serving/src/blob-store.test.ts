import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, describe, expect, test } from "vitest";

import { BLOB_DIR, isBlobKey, LocalBlobStore } from "./blob-store";
import { isServingError } from "./errors";
import { sha256Hex } from "./manifest";

const dirs: string[] = [];
async function freshStore(): Promise<LocalBlobStore> {
  const dir = await mkdtemp(join(tmpdir(), "likewise-blobs-"));
  dirs.push(dir);
  return LocalBlobStore.atHome(dir);
}
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const bytesOf = (s: string) => new TextEncoder().encode(s);

describe("LocalBlobStore", () => {
  test("put returns the sha256 of the content, stores it fanned out by the first two hex digits, and get returns it", async () => {
    const store = await freshStore();
    const bytes = bytesOf("a red circle");
    const key = await store.put(bytes);
    expect(key).toBe(sha256Hex(bytes));
    expect(store.pathOf(key)).toBe(join(store.root, key.slice(0, 2), `${key}.png`));
    expect(store.root.endsWith(BLOB_DIR)).toBe(true);
    expect(new Uint8Array(await readFile(store.pathOf(key)))).toEqual(bytes);
    expect(await store.get(key)).toEqual(bytes);
    expect(await store.has(key)).toBe(true);
  });

  test("absent keys: get → null, has → false", async () => {
    const store = await freshStore();
    const key = sha256Hex(bytesOf("never stored"));
    expect(await store.get(key)).toBeNull();
    expect(await store.has(key)).toBe(false);
  });

  test("the same content is stored once, also by concurrent writers, and no temporary files remain", async () => {
    const store = await freshStore();
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 31) % 251);
    const keys = await Promise.all(Array.from({ length: 8 }, () => store.put(bytes)));
    expect(new Set(keys).size).toBe(1);
    const [key] = keys;
    expect(await readdir(join(store.root, key?.slice(0, 2) ?? ""))).toEqual([`${key}.png`]);
    expect(await store.get(key ?? "")).toEqual(bytes);
  });

  test("malformed keys are refused with INVALID_BLOB_KEY (no path escapes the store)", async () => {
    const store = await freshStore();
    for (const bad of ["../../etc/passwd", "ABCDEF".padEnd(64, "0"), "0".repeat(63), "", "g".repeat(64)]) {
      expect(isBlobKey(bad)).toBe(false);
      await expect(store.get(bad)).rejects.toSatisfy((e) => isServingError(e, "INVALID_BLOB_KEY"));
      await expect(store.has(bad)).rejects.toSatisfy((e) => isServingError(e, "INVALID_BLOB_KEY"));
      expect(() => store.pathOf(bad)).toThrow(/64 lowercase hex digits/);
    }
  });

  test("a blob whose bytes changed on disk is reported as HASH_MISMATCH, not returned", async () => {
    const store = await freshStore();
    const key = await store.put(bytesOf("original"));
    await writeFile(store.pathOf(key), bytesOf("tampered"));
    await expect(store.get(key)).rejects.toSatisfy((e) => isServingError(e, "HASH_MISMATCH"));
  });

  test("the extension is configurable and validated", async () => {
    const store = new LocalBlobStore((await freshStore()).root, { extension: "bin" });
    const key = await store.put(bytesOf("x"));
    expect(store.pathOf(key).endsWith(`${key}.bin`)).toBe(true);
    expect(() => new LocalBlobStore("/tmp", { extension: "../x" })).toThrow(RangeError);
  });
});
