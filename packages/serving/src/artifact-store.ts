/**
 * Where model version folders live once registered. The registry copies a verified folder in (`put`) and records
 * the returned URI on the model_version row; every serving host turns that URI back into a local folder (`open`).
 * `LocalArtifactStore` is a folder (`<home>/models/<id>`); an object store would download into a cache in `open`.
 */
import { randomUUID } from "node:crypto";
import { cp, mkdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { ServingError } from "./errors";

export type ArtifactStore = {
  /** Copies the version folder `sourceDir` in under `versionId` → its URI. Replaces nothing: CONFLICT-free, idempotent. */
  put(versionId: string, sourceDir: string): Promise<string>;
  /** URI → a local folder holding the artifact. INVALID_MANIFEST for a URI this store does not serve. */
  open(uri: string): Promise<string>;
  has(versionId: string): Promise<boolean>;
};

export const MODELS_DIR = "models";
const VERSION_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The artifact store of an installation folder (`<home>/models`). */
  static atHome(home: string): LocalArtifactStore {
    return new LocalArtifactStore(join(home, MODELS_DIR));
  }

  dirOf(versionId: string): string {
    if (!VERSION_ID_RE.test(versionId))
      throw new ServingError(
        "INVALID_MANIFEST",
        `model version id ${JSON.stringify(versionId)} cannot name a folder`,
      );
    return join(this.root, versionId);
  }

  uriOf(versionId: string): string {
    return pathToFileURL(this.dirOf(versionId)).href;
  }

  async put(versionId: string, sourceDir: string): Promise<string> {
    const dir = this.dirOf(versionId);
    if (resolve(sourceDir) === dir) return this.uriOf(versionId);
    if (await this.has(versionId)) return this.uriOf(versionId);
    await mkdir(this.root, { recursive: true });
    // Copied to a temporary sibling and renamed: a host never sees half a folder. The name is random, not
    // pid + clock: two puts in one process within one millisecond must not share it.
    const tmp = join(this.root, `.${versionId}.tmp-${randomUUID()}`);
    try {
      await cp(sourceDir, tmp, { recursive: true });
      await rename(tmp, dir);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      if (await this.has(versionId)) return this.uriOf(versionId); // a concurrent put won
      throw e;
    }
    return this.uriOf(versionId);
  }

  open(uri: string): Promise<string> {
    let path: string;
    try {
      path = uri.startsWith("file:") ? fileURLToPath(uri) : resolve(uri);
    } catch (cause) {
      return Promise.reject(
        new ServingError("INVALID_MANIFEST", `not a local artifact URI: ${uri}`, { cause }),
      );
    }
    return Promise.resolve(path);
  }

  async has(versionId: string): Promise<boolean> {
    try {
      return (await stat(this.dirOf(versionId))).isDirectory();
    } catch {
      return false;
    }
  }
}
