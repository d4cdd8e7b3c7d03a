import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, test } from "vitest";

import { isServingError } from "./errors";
import { writeTestArtifact } from "./testing/artifact";
import { verifyModelArtifact } from "./verify";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "likewise-verify-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const refusal = (code: string, pattern: RegExp) => (e: unknown) =>
  isServingError(e) && e.code === code && pattern.test(e.message);

describe("verifyModelArtifact", () => {
  test("a good artifact: manifest, sha256, parity, load and output check pass; the report carries the figures", async () => {
    const dir = await writeTestArtifact(root, { id: "good" });
    const report = await verifyModelArtifact(dir);
    expect(report.manifest.id).toBe("good");
    expect(report.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.parity).toEqual({ maxAbs: 2e-6, relL2: 3e-7 });
    expect(report.output.batch).toBe(3);
    expect(report.output.maxAbs).toBeGreaterThan(0);
    expect(Number.isFinite(report.output.meanAbs)).toBe(true);
  });

  test("refusals name the problem: bad hash, truncated ONNX, NaN output, missing or poor parity", async () => {
    await expect(
      verifyModelArtifact(await writeTestArtifact(root, { id: "hash", corrupt: "bad-hash" })),
    ).rejects.toSatisfy(refusal("HASH_MISMATCH", /sha256 [0-9a-f]{64} differs from manifest/));
    await expect(
      verifyModelArtifact(await writeTestArtifact(root, { id: "trunc", corrupt: "truncated" })),
    ).rejects.toSatisfy(refusal("RUNTIME_ERROR", /could not load the model/));
    await expect(
      verifyModelArtifact(await writeTestArtifact(root, { id: "nan", corrupt: "nan" })),
    ).rejects.toSatisfy(refusal("OUTPUT_CHECK_FAILED", /NaN or infinite/));
    await expect(
      verifyModelArtifact(await writeTestArtifact(root, { id: "noparity", parity: null })),
    ).rejects.toSatisfy(refusal("PARITY_FAILED", /parity is missing/));
    await expect(
      verifyModelArtifact(
        await writeTestArtifact(root, { id: "poorparity", parity: { maxAbs: 0.5, relL2: 0.1 } }),
      ),
    ).rejects.toSatisfy(refusal("PARITY_FAILED", /exceeds the tolerance/));
    expect(
      (
        await verifyModelArtifact(await writeTestArtifact(root, { id: "lenient", parity: null }), {
          requireParity: false,
        })
      ).parity,
    ).toBeNull();
  });
});
