import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { LocalArtifactStore, MODELS_DIR } from "./artifact-store";
import { isServingError } from "./errors";
import { readModelArtifact } from "./manifest";
import { writeTestArtifact } from "./testing/artifact";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "likewise-artifacts-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("LocalArtifactStore", () => {
  test("put copies a version folder under its id, concurrent puts included (no temporary folders left) and open(uri) gives it back", async () => {
    const store = LocalArtifactStore.atHome(join(root, "home"));
    expect(store.root).toBe(join(root, "home", MODELS_DIR));
    const src = await writeTestArtifact(join(root, "src"), { id: "v1" });
    // Eight concurrent puts of one version (the same millisecond, one process): one copy wins, all agree on it.
    const uris = await Promise.all(Array.from({ length: 8 }, () => store.put("v1", src)));
    expect(new Set(uris).size).toBe(1);
    const uri1 = String(uris[0]);
    expect(uri1).toMatch(/^file:\/\//);
    expect(await store.has("v1")).toBe(true);
    expect(await store.has("v2")).toBe(false);
    expect(await readdir(store.root)).toEqual(["v1"]);
    const dir = await store.open(uri1);
    expect((await readModelArtifact(dir)).manifest.id).toBe("v1");
    expect(await readFile(join(dir, "model.onnx"))).toEqual(await readFile(join(src, "model.onnx")));
  });

  test("version ids that cannot name a folder are refused", async () => {
    const store = new LocalArtifactStore(join(root, "other"));
    for (const bad of ["../escape", "a/b", "", ".hidden"])
      await expect(store.put(bad, root)).rejects.toSatisfy((e) => isServingError(e, "INVALID_MANIFEST"));
  });
});
