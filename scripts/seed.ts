// First-start seed of an installation, idempotent: the admin account (password generated and printed once), the
// curated prompts the image pool fills, and the shipped base model (models/base) registered — verified, copied into
// the artifact store — and pointed at by the production alias. The trainer worker then fills the initial pool.
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  createPrompt,
  createUser,
  findProductionModelVersion,
  findUserByEmail,
  getModelVersion,
  hashPassword,
  DbError,
  listActivePrompts,
  recordModelVersion,
  setProductionAlias,
  type Db,
} from "@likewise/db";
import { LocalArtifactStore, verifyModelArtifact } from "@likewise/serving";

export const ADMIN_EMAIL = "admin@likewise.local";
export const BASE_MODEL_ID = "base";
export const BASE_MODEL_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "models", BASE_MODEL_ID);

/** Shapes-world captions in the base model's vocabulary: what the pool keeps unrated images of. */
export const CURATED_PROMPTS = [
  "a red circle",
  "a blue square",
  "a green triangle",
  "a yellow star",
  "a purple ring",
  "an orange circle on a white background",
  "a large red square on a black background",
  "a small blue circle at the top left",
  "a white star on a blue background",
  "a green ring in the centre",
  "a black triangle at the bottom right",
  "a medium yellow square on a purple background",
] as const;

export async function seedInstallation(
  db: Db,
  opts: { home: string; log: (msg: string) => void; baseModelDir?: string },
): Promise<void> {
  if (!(await findUserByEmail(db, ADMIN_EMAIL))) {
    const password = randomBytes(12).toString("base64url");
    await createUser(db, {
      email: ADMIN_EMAIL,
      name: "Administrator",
      role: "admin",
      passwordHash: await hashPassword(password),
      trainingConsent: false,
    });
    opts.log("─".repeat(64));
    opts.log(`admin account created: ${ADMIN_EMAIL}`);
    opts.log(`password (shown only now; keep it): ${password}`);
    opts.log("─".repeat(64));
  }

  const existing = new Set((await listActivePrompts(db, { source: "curated" })).map((p) => p.text));
  let added = 0;
  for (const text of CURATED_PROMPTS) {
    if (existing.has(text)) continue;
    try {
      await createPrompt(db, { text, source: "curated" });
      added++;
    } catch (e) {
      // A concurrent starter, or an admin deactivated it: either way it exists.
      if (!(e instanceof DbError && e.code === "CONFLICT")) throw e;
    }
  }
  if (added > 0) opts.log(`curated prompts added: ${added}`);

  if (!(await findProductionModelVersion(db))) {
    const dir = opts.baseModelDir ?? BASE_MODEL_DIR;
    const report = await verifyModelArtifact(dir);
    const store = LocalArtifactStore.atHome(opts.home);
    const uri = await store.put(BASE_MODEL_ID, dir);
    const hasRow = await getModelVersion(db, BASE_MODEL_ID).then(
      () => true,
      () => false,
    );
    if (!hasRow) {
      const { alphasCumprod: _omitted, ...schedule } = report.manifest.schedule;
      await recordModelVersion(db, {
        id: BASE_MODEL_ID,
        family: report.manifest.family,
        status: "registered",
        artifactUri: uri,
        sha256: report.sha256,
        manifest: {
          ...report.manifest.extra,
          id: report.manifest.id,
          imageSize: report.manifest.imageSize,
          schedule,
          onnx: report.manifest.onnx,
        },
        metrics: { registration: { loadMs: report.loadMs, parity: report.parity, output: report.output } },
      });
    }
    await setProductionAlias(db, {
      modelVersionId: BASE_MODEL_ID,
      kind: "initial",
      reason: "seed: the shipped base model",
    });
    opts.log(
      `base model registered as production (${report.manifest.imageSize}px, sha256 ${report.sha256.slice(0, 12)}…)`,
    );
  }
}
