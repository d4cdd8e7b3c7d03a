/**
 * Content-addressed blob store: a blob's key is the lowercase hex sha256 of its bytes, so equal content is
 * stored once, keys can be checked against content, and a key in a database row can never point at
 * different bytes later. `LocalBlobStore` keeps blobs in a folder (`<root>/ab/<key>.png`, fanned out by the
 * first two hex digits); the interface leaves room for an object store.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { ServingError } from "./errors";
import { sha256Hex } from "./manifest";

export type BlobStore = {
  /** Stores the bytes (a no-op when the content is already there) → their key, the sha256 hex. */
  put(bytes: Uint8Array): Promise<string>;
  /** The bytes stored under `key`, or null when absent. HASH_MISMATCH when the stored bytes no longer hash to the key. */
  get(key: string): Promise<Uint8Array | null>;
  has(key: string): Promise<boolean>;
};

/** The folder name under an installation's home (`.likewise/blobs`). */
export const BLOB_DIR = "blobs";

const KEY_RE = /^[0-9a-f]{64}$/;

export function isBlobKey(key: unknown): key is string {
  return typeof key === "string" && KEY_RE.test(key);
}

function checkKey(key: unknown): string {
  if (!isBlobKey(key))
    throw new ServingError(
      "INVALID_BLOB_KEY",
      `blob key must be 64 lowercase hex digits, got ${JSON.stringify(key)}`,
    );
  return key;
}

export type LocalBlobStoreOptions = {
  /** File extension (without the dot) given to every blob; default "png". Informational only. */
  extension?: string;
};

export class LocalBlobStore implements BlobStore {
  readonly extension: string;

  constructor(
    readonly root: string,
    options: LocalBlobStoreOptions = {},
  ) {
    this.extension = options.extension ?? "png";
    if (!/^[a-z0-9]{1,8}$/.test(this.extension))
      throw new RangeError(`extension must be 1–8 lowercase letters/digits, got "${this.extension}"`);
  }

  /** The blob store of an installation folder (`<home>/blobs`). */
  static atHome(home: string, options?: LocalBlobStoreOptions): LocalBlobStore {
    return new LocalBlobStore(join(home, BLOB_DIR), options);
  }

  /** Where `key`'s bytes live (for streaming them from disk). INVALID_BLOB_KEY for a malformed key. */
  pathOf(key: string): string {
    checkKey(key);
    return join(this.root, key.slice(0, 2), `${key}.${this.extension}`);
  }

  async put(bytes: Uint8Array): Promise<string> {
    const key = sha256Hex(bytes);
    const path = this.pathOf(key);
    if (await this.has(key)) return key;
    const dir = join(this.root, key.slice(0, 2));
    await mkdir(dir, { recursive: true });
    // Written under a unique temporary name and renamed: readers see the whole blob or none, and two
    // writers of the same content both end with the same complete file.
    const tmp = join(dir, `.tmp-${key}-${process.pid}-${randomBytes(4).toString("hex")}`);
    try {
      await writeFile(tmp, bytes, { flush: true });
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return key;
  }

  async get(key: string): Promise<Uint8Array | null> {
    const path = this.pathOf(key);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
    const actual = sha256Hex(bytes);
    if (actual !== key)
      throw new ServingError("HASH_MISMATCH", `blob ${path} hashes to ${actual}, not its key`);
    return bytes;
  }

  async has(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }
}

function isNotFound(e: unknown): boolean {
  return typeof e === "object" && e !== null && "code" in e && e.code === "ENOENT";
}
