import { createHash, randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";

/**
 * Where entries live under the root: `<root>/<2 hex>/<62 hex>`, the SHA-256 of the key's UTF-8 bytes, so
 * a name never holds a character of the key (no traversal, no case folding, no length limit), and the
 * files spread evenly over 256 directories (as git's objects: 40 000 files a directory at ten million
 * entries, which ext4's and XFS's hashed directories handle well).
 */
export const FAN_OUT = 256;

/** Names of this process's temporary files start with it, so that two processes never pick the same one. */
const PROCESS_TAG = randomBytes(6).toString("hex");
let temporaryCount = 0;

/** The path of `key`'s entry file. */
export function entryPath(root: string, key: Buffer): string {
  const digest = createHash("sha256").update(key).digest("hex");
  return join(root, digest.slice(0, 2), digest.slice(2));
}

/** The fan-out directory number `index` (0–255). */
export function fanOutDirectory(root: string, index: number): string {
  return join(root, index.toString(16).padStart(2, "0"));
}

/** Whether a name in a fan-out directory is an entry file's. */
export function isEntryName(name: string): boolean {
  return name.length === 62 && /^[0-9a-f]{62}$/.test(name);
}

/** Whether an entry file at `path` is where `key` belongs (a file copied under another name is not). */
export function belongsAt(path: string, key: Buffer): boolean {
  const digest = createHash("sha256").update(key).digest("hex");
  return basename(path) === digest.slice(2) && basename(dirname(path)) === digest.slice(0, 2);
}

/**
 * A fresh name beside `path` for a file being written (then renamed into place) or one being taken away:
 * hidden (a leading dot) and ending in `.tmp`, so listings skip it and the sweep removes it if its writer died.
 */
export function temporaryPath(path: string): string {
  temporaryCount = (temporaryCount + 1) % Number.MAX_SAFE_INTEGER;
  return join(dirname(path), `.${basename(path).slice(0, 8)}.${PROCESS_TAG}.${temporaryCount.toString(36)}.tmp`);
}

/** Whether a name is a temporary file's (see {@link temporaryPath}). */
export function isTemporaryName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(".tmp");
}

/**
 * The lock file of `path`'s entry, held (created exclusively) while `ifNotExists` or the sweep replaces
 * or removes an expired entry, so that of two such writers only one acts.
 */
export function lockPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.lock`);
}

/** Whether a name is a lock file's (see {@link lockPath}). */
export function isLockName(name: string): boolean {
  return name.startsWith(".") && name.endsWith(".lock");
}
