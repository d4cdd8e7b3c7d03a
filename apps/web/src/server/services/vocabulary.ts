import "~/server/only";

import { readFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { type Db, findProductionModelVersion, type ModelVersion } from "@likewise/db";
import { MANIFEST_FILE, parseManifest, Tokenizer } from "@likewise/serving";

/** The folder of a model version's artifact: a file:// URL, an absolute path, or a path relative to the home. */
export function artifactDir(uri: string, home: string): string {
  if (uri.startsWith("file://")) return fileURLToPath(uri);
  return isAbsolute(uri) ? uri : resolve(home, uri);
}

const cache = new Map<string, Promise<Tokenizer>>();

/** The tokenizer of a model version (its manifest's vocabulary), cached per version id. */
export function tokenizerFor(version: ModelVersion, home: string): Promise<Tokenizer> {
  let hit = cache.get(version.id);
  if (!hit) {
    hit = (async () => {
      let manifest;
      try {
        manifest = parseManifest(version.manifest);
      } catch {
        // the row may hold only a summary; the artifact folder holds the full manifest
        const text = await readFile(join(artifactDir(version.artifactUri, home), MANIFEST_FILE), "utf8");
        manifest = parseManifest(JSON.parse(text));
      }
      return new Tokenizer(manifest.vocab, manifest.contextLength);
    })();
    hit.catch(() => cache.delete(version.id));
    cache.set(version.id, hit);
  }
  return hit;
}

/** The production model's tokenizer, or null when there is no production model yet. */
export async function productionTokenizer(
  db: Db,
  home: string,
): Promise<{ tokenizer: Tokenizer; modelVersionId: string } | null> {
  const version = await findProductionModelVersion(db);
  if (!version) return null;
  return { tokenizer: await tokenizerFor(version, home), modelVersionId: version.id };
}
