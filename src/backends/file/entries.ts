import { BackendError } from "../../errors.js";
import { globMatcher } from "../../internal/glob.js";
import type { BackendScanOptions, BackendScanPage } from "../contract.js";
import { decodeHeader, encodeHead, HEADER_BYTES, storedKey } from "./format.js";
import {
  belongsAt,
  entryPath,
  FAN_OUT,
  fanOutDirectory,
  isEntryName,
  isLockName,
  isTemporaryName,
  lockPath,
  temporaryPath,
} from "./layout.js";
import {
  checksum,
  create,
  type FileFacts,
  type FileRead,
  type FileSteps,
  link,
  list,
  read,
  readMany,
  rename,
  stat,
  unlink,
} from "./requests.js";

/** How much of a file a listing reads first: the header and any key up to 4 KB (a longer one is read again). */
const PEEK_BYTES = 4096;
/** How many files a `scan` page looks at when not told. */
const DEFAULT_SCAN_COUNT = 1000;
/** A lock older than this was left by a process that died while holding it: it is broken. */
const STALE_LOCK_MS = 10_000;
/** A temporary file older than this was left by a writer that died: the sweep removes it. */
const STALE_TEMPORARY_MS = 3_600_000;

/** What is at an entry's path. */
export type Found =
  | { readonly state: "absent" }
  /** A file that is no entry of ours for this key: truncated, corrupt, foreign or of another version. */
  | { readonly state: "unreadable"; readonly file: FileFacts }
  | {
      readonly state: "entry";
      readonly file: FileFacts;
      readonly key: Buffer;
      readonly expiresAt: number | undefined;
      /** Read only when asked for. */
      readonly value: Buffer | undefined;
    };

const ABSENT: Found = { state: "absent" };

/** Whether `found` is an entry that has not expired at `now`. */
export function isLive(found: Found, now: number): found is Found & { state: "entry" } {
  return found.state === "entry" && (found.expiresAt === undefined || found.expiresAt > now);
}

/** One live entry file, as the sweep counts them for `max-size`. */
export interface LiveFile {
  readonly path: string;
  readonly size: number;
  readonly modified: number;
}

/** What one sweep step did in one fan-out directory. */
export interface DirectorySweep {
  /** Expired or unreadable entry files removed. */
  readonly removed: number;
  /** Entry files left, with their sizes. */
  readonly live: LiveFile[];
}

/**
 * The file backend's operations on the entries under one root directory, each written once as steps (see
 * `FileRequest`) that the sync and async backends run. Keys are the UTF-8 bytes of checked keys; values are
 * bytes. Every write goes to a temporary file in the entry's directory, renamed into place, so a reader sees
 * the old entry or the new one, never a part. Every read checks the header, its checksum, the key and the
 * value's checksum: anything else is a miss.
 */
export class FileEntries {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /**
   * What is at `path` (`key`'s entry path, hashed once per operation by its caller); the value too when
   * `withValue`; the file's identity unless `anonymous`.
   */
  *#find(path: string, key: Buffer, withValue: boolean, anonymous = false): FileSteps<Found> {
    const file = yield* read(path, withValue ? undefined : HEADER_BYTES + key.length, !anonymous);
    return yield* this.#inspect(path, file, key, withValue);
  }

  /** `file` (read from `path`) as an entry, reading more of it where a listing's first read was too short. */
  *#inspect(path: string, file: FileRead | undefined, key: Buffer | undefined, withValue: boolean): FileSteps<Found> {
    if (file === undefined) return ABSENT;
    const header = decodeHeader(file.bytes);
    if (header === undefined || file.size !== header.fileLength) return { state: "unreadable", file };
    if (key === undefined && file.bytes.length < HEADER_BYTES + header.keyLength) {
      return yield* this.#inspect(path, yield* read(path, HEADER_BYTES + header.keyLength), undefined, false);
    }
    const stored = storedKey(file.bytes, header);
    if (stored === undefined || (key === undefined ? !belongsAt(path, stored) : !stored.equals(key))) {
      return { state: "unreadable", file };
    }
    let value: Buffer | undefined;
    if (withValue) {
      value = file.bytes.subarray(HEADER_BYTES + header.keyLength);
      if ((yield* checksum(value)) !== header.valueChecksum) return { state: "unreadable", file };
    }
    return { state: "entry", file, key: stored, expiresAt: header.expiresAt, value };
  }

  *get(key: Buffer): FileSteps<Buffer | undefined> {
    const found = yield* this.#find(entryPath(this.root, key), key, true, true);
    return isLive(found, Date.now()) ? found.value : undefined;
  }

  /** Milliseconds left (at least 1), `null` for no expiry, `undefined` when absent. */
  *ttl(key: Buffer): FileSteps<number | null | undefined> {
    const found = yield* this.#find(entryPath(this.root, key), key, false);
    const now = Date.now();
    if (!isLive(found, now)) return undefined;
    return found.expiresAt === undefined ? null : Math.max(1, Math.ceil(found.expiresAt - now));
  }

  /** The temporary file of a new entry, written in full; its path. */
  *#write(path: string, key: Buffer, value: Buffer, expiresAt: number | undefined): FileSteps<string> {
    const head = encodeHead(key, value.length, yield* checksum(value), expiresAt);
    const temporary = temporaryPath(path);
    yield* create(temporary, [head, value]);
    return temporary;
  }

  /** Stores `value`; with `ifNotExists`, only when no live entry is there (`false` then). Its bytes on disk. */
  *set(key: Buffer, value: Buffer, timeToLive: number | undefined, ifNotExists: boolean): FileSteps<number> {
    const path = entryPath(this.root, key);
    const expiresAt = timeToLive === undefined ? undefined : Date.now() + timeToLive;
    const temporary = yield* this.#write(path, key, value, expiresAt);
    const size = HEADER_BYTES + key.length + value.length;
    if (!ifNotExists) {
      yield* this.#place(temporary, path);
      return size;
    }
    try {
      return (yield* this.#add(temporary, path, key)) ? size : 0;
    } finally {
      yield* unlink(temporary);
    }
  }

  *#place(temporary: string, path: string): FileSteps<void> {
    try {
      yield* rename(temporary, path);
    } catch (error) {
      yield* unlink(temporary);
      throw error;
    }
  }

  /**
   * Puts `temporary` at `path` unless a live entry is there. Into an empty place by `link`, which fails
   * when another writer got there first; over an expired or unreadable file by `rename`, under the entry's
   * lock, so that of two such writers one wins. A lock held by another process (an adder about to store
   * its entry, or the sweep removing the expired one) sends this one round again, three times at most:
   * after that, another writer is storing the key, and this one loses.
   */
  *#add(temporary: string, path: string, key: Buffer): FileSteps<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (yield* link(temporary, path)) return true;
      if (isLive(yield* this.#find(path, key, false), Date.now())) return false;
      const outcome = yield* this.#underLock(path, "locked" as const, function* (this: FileEntries) {
        const found = yield* this.#find(path, key, false);
        if (isLive(found, Date.now())) return false;
        if (found.state === "absent") return yield* link(temporary, path);
        yield* rename(temporary, path);
        return true;
      });
      if (outcome !== "locked") return outcome;
    }
    return false;
  }

  /** `work` while holding `path`'s lock file, or `otherwise` when another process holds it. */
  *#underLock<T, O>(path: string, otherwise: O, work: (this: FileEntries) => FileSteps<T>): FileSteps<T | O> {
    const lock = lockPath(path);
    if (!(yield* create(lock, []))) {
      const held = yield* stat(lock);
      if (held !== undefined && Date.now() - held.modified > STALE_LOCK_MS) yield* unlink(lock);
      return otherwise;
    }
    try {
      return yield* work.call(this);
    } finally {
      yield* unlink(lock);
    }
  }

  /**
   * Removes the file at `path` if it is still `file` (not a replacement written since): it is renamed
   * away, and put back if it turns out to be another; whether `file` was removed.
   */
  *#takeAway(path: string, file: FileFacts): FileSteps<boolean> {
    const away = temporaryPath(path);
    if (!(yield* rename(path, away))) return false;
    const moved = yield* stat(away);
    if (moved !== undefined && moved.identity !== file.identity) {
      // Put back unless yet another writer's entry is there now (it is newer still).
      yield* link(away, path);
      yield* unlink(away);
      return false;
    }
    yield* unlink(away);
    return true;
  }

  /** Sets or removes the expiry of a live entry by rewriting it; `false` when absent. */
  *expireIn(key: Buffer, timeToLive: number | undefined): FileSteps<boolean> {
    const path = entryPath(this.root, key);
    const found = yield* this.#find(path, key, true);
    if (!isLive(found, Date.now()) || found.value === undefined) return false;
    const expiresAt = timeToLive === undefined ? undefined : Date.now() + timeToLive;
    const temporary = yield* this.#write(path, key, found.value, expiresAt);
    const now = yield* stat(path);
    if (now?.identity !== found.file.identity) {
      // Written or removed meanwhile: that later change stands.
      yield* unlink(temporary);
      return true;
    }
    yield* this.#place(temporary, path);
    return true;
  }

  /** Removes the entry; whether a live one was there. */
  *delete(key: Buffer): FileSteps<boolean> {
    const path = entryPath(this.root, key);
    const found = yield* this.#find(path, key, false);
    if (found.state === "absent") return false;
    const removed = yield* unlink(path);
    return removed && isLive(found, Date.now());
  }

  /** Removes the entry only while it holds `value` (a replacement written since is kept). */
  *deleteIfUnchanged(key: Buffer, value: Buffer): FileSteps<boolean> {
    const path = entryPath(this.root, key);
    const found = yield* this.#find(path, key, true);
    if (!isLive(found, Date.now()) || found.value?.equals(value) !== true) return false;
    return yield* this.#takeAway(path, found.file);
  }

  /** The entries of one fan-out directory and their paths, each checked (`key` absent: any key). */
  *#entriesIn(index: number): FileSteps<{ path: string; found: Found }[]> {
    const directory = fanOutDirectory(this.root, index);
    const paths = (yield* list(directory)).filter(isEntryName).map((name) => `${directory}/${name}`);
    const files = yield* readMany(paths, PEEK_BYTES);
    const entries: { path: string; found: Found }[] = [];
    for (const [position, path] of paths.entries()) {
      entries.push({ path, found: yield* this.#inspect(path, files[position], undefined, false) });
    }
    return entries;
  }

  /**
   * One page of live keys in fan-out order: whole directories until `count` files were looked at. The
   * cursor is `d<next directory>`.
   */
  *scan(cursor: string, options: BackendScanOptions): FileSteps<BackendScanPage> {
    let index = 0;
    if (cursor !== "0") {
      const match = /^d([0-9]{1,3})$/.exec(cursor);
      index = match === null ? Number.NaN : Number(match[1]);
      if (!(index > 0 && index < FAN_OUT)) {
        throw new BackendError(`scan got the cursor ${JSON.stringify(cursor)}, which no file backend scan gave`);
      }
    }
    const count = Math.max(1, Math.min(options.count ?? DEFAULT_SCAN_COUNT, 100_000));
    const matches = options.match === undefined ? undefined : globMatcher(options.match);
    const keys: string[] = [];
    let looked = 0;
    const now = Date.now();
    while (index < FAN_OUT && looked < count) {
      const entries = yield* this.#entriesIn(index++);
      looked += entries.length;
      for (const { found } of entries) {
        if (!isLive(found, now)) continue;
        const text = found.key.toString("utf8");
        if (matches === undefined || matches(text)) keys.push(text);
      }
    }
    return { keys, cursor: index >= FAN_OUT ? "0" : `d${String(index)}` };
  }

  /** Removes the entries under `prefix` in fan-out directory `index` (every file of ours for `""`); how many. */
  *clearDirectory(index: number, prefix: string): FileSteps<number> {
    let removed = 0;
    if (prefix === "") {
      const directory = fanOutDirectory(this.root, index);
      for (const name of yield* list(directory)) {
        if (isEntryName(name) && (yield* unlink(`${directory}/${name}`))) removed++;
      }
      return removed;
    }
    const start = Buffer.from(prefix, "utf8");
    for (const { path, found } of yield* this.#entriesIn(index)) {
      if (found.state === "entry" && found.key.subarray(0, start.length).equals(start) && (yield* unlink(path))) {
        removed++;
      }
    }
    return removed;
  }

  /**
   * One sweep step over fan-out directory `index`: expired and unreadable entries removed (under their lock, and only if
   * unchanged), temporary files of dead writers and stale locks removed, and the live entries listed.
   */
  *sweepDirectory(index: number): FileSteps<DirectorySweep> {
    const directory = fanOutDirectory(this.root, index);
    const now = Date.now();
    for (const name of yield* list(directory)) {
      if (!isTemporaryName(name) && !isLockName(name)) continue;
      const path = `${directory}/${name}`;
      const facts = yield* stat(path);
      const limit = isLockName(name) ? STALE_LOCK_MS : STALE_TEMPORARY_MS;
      if (facts !== undefined && now - facts.modified > limit) yield* unlink(path);
    }
    let removed = 0;
    const live: LiveFile[] = [];
    for (const { path, found } of yield* this.#entriesIn(index)) {
      if (found.state === "absent") continue;
      if (isLive(found, now)) {
        live.push({ path, size: found.file.size, modified: found.file.modified });
        continue;
      }
      const file = found.file;
      const taken = yield* this.#underLock(path, false, function* (this: FileEntries) {
        return yield* this.#takeAway(path, file);
      });
      if (taken) removed++;
    }
    return { removed, live };
  }

  /** Removes one entry file to keep under `max-size` (whatever it holds now). */
  *evict(path: string): FileSteps<boolean> {
    return yield* unlink(path);
  }
}
