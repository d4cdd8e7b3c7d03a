// Publishing a model version: verify the artifact folder (manifest, sha256, recorded export parity, ONNX Runtime load,
// output check), copy it into the artifact store, insert the model_version row (NOTIFY → every serving host loads it).
// A folder that fails verification is refused; when its manifest is readable the refusal is recorded as a rejected
// row so the admin page shows why.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

import {
  getModelVersion,
  type Db,
  type ModelVersion,
  recordModelVersion,
  rollbackProduction,
  setProductionAlias,
  type AliasMove,
} from "@likewise/db";
import {
  type ArtifactStore,
  isServingError,
  MANIFEST_FILE,
  ServingError,
  sha256Hex,
  verifyModelArtifact,
  type VerificationReport,
} from "@likewise/serving";

export type RegisterInput = {
  /** A version folder (manifest.json + model.onnx + weights) anywhere on disk. */
  sourceDir: string;
  /** Row id; defaults to the manifest's id. Names the folder in the artifact store. */
  id?: string;
  parentId?: string | null;
  roundId?: string | null;
  /** Record a refusal as a `rejected` row (default true). */
  recordRejection?: boolean;
};

export type RegisterResult = { version: ModelVersion; report: VerificationReport };

/** Why a version was refused; `code` is the serving error code (HASH_MISMATCH, RUNTIME_ERROR, OUTPUT_CHECK_FAILED…). */
export class RegistrationError extends Error {
  override readonly name = "RegistrationError";
  constructor(
    readonly code: string,
    message: string,
    readonly rejectedVersionId: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  // safe because only plain JSON objects (from JSON.parse) pass the checks
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** The manifest as stored on the row: everything but the 1000-entry ᾱ table (it stays in the artifact). */
function manifestForRow(raw: Record<string, unknown>): Record<string, unknown> {
  const schedule = asRecord(raw.schedule);
  return { ...raw, schedule: schedule ? { kind: schedule.kind, timesteps: schedule.timesteps } : undefined };
}

async function readRawManifest(dir: string): Promise<Record<string, unknown> | null> {
  try {
    const json: unknown = JSON.parse(await readFile(join(dir, MANIFEST_FILE), "utf8"));
    return asRecord(json) ?? null;
  } catch {
    return null;
  }
}

export async function registerModelVersion(
  db: Db,
  store: ArtifactStore,
  input: RegisterInput,
): Promise<RegisterResult> {
  const raw = await readRawManifest(input.sourceDir);
  let report: VerificationReport;
  try {
    report = await verifyModelArtifact(input.sourceDir);
  } catch (e) {
    const code = isServingError(e) ? e.code : "RUNTIME_ERROR";
    const message = `model version refused (${code}): ${e instanceof Error ? e.message : String(e)}`;
    let rejectedId: string | null = null;
    const id = input.id ?? (typeof raw?.id === "string" ? raw.id : undefined);
    if ((input.recordRejection ?? true) && raw && id && typeof raw.family === "string") {
      const onnx = asRecord(raw.onnx);
      const claimed =
        typeof onnx?.sha256 === "string" && /^[0-9a-f]{64}$/.test(onnx.sha256)
          ? onnx.sha256
          : sha256Hex(new Uint8Array(0));
      const row = await recordModelVersion(db, {
        id,
        family: raw.family,
        parentId: input.parentId ?? null,
        roundId: input.roundId ?? null,
        status: "rejected",
        artifactUri: `file://${input.sourceDir}`,
        sha256: claimed,
        manifest: manifestForRow(raw),
        metrics: { rejection: { code, message, at: new Date().toISOString() } },
      }).catch(() => null);
      rejectedId = row?.id ?? null;
    }
    throw new RegistrationError(code, message, rejectedId, { cause: e });
  }
  const id = input.id ?? report.manifest.id;
  const uri = await store.put(id, input.sourceDir);
  const version = await recordModelVersion(db, {
    id,
    family: report.manifest.family,
    parentId: input.parentId ?? (typeof raw?.parent === "string" ? raw.parent : null),
    roundId: input.roundId ?? null,
    status: "registered",
    artifactUri: uri,
    sha256: report.sha256,
    manifest: manifestForRow(raw ?? {}),
    metrics: {
      ...asRecord(raw?.metrics),
      registration: { loadMs: report.loadMs, parity: report.parity, output: report.output },
    },
  });
  return { version, report };
}

/** Points production at a registered version (who/why recorded; NOTIFY → hosts swap). */
export function promoteModelVersion(
  db: Db,
  input: { modelVersionId: string; actorId?: string | null; reason?: string | null },
): Promise<AliasMove> {
  return setProductionAlias(db, { ...input, kind: "promote" });
}

export { rollbackProduction };

/** version id → a local folder holding its artifact (what a ServingHost loads). */
export function artifactResolver(db: Db, store: ArtifactStore): (versionId: string) => Promise<string> {
  return async (versionId) => {
    const version = await getModelVersion(db, versionId);
    if (version.status !== "registered")
      throw new ServingError(
        "VERSION_NOT_READY",
        `model version ${versionId} is ${version.status}, not registered`,
      );
    return store.open(version.artifactUri);
  };
}
