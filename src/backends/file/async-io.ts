import type { FileHandle } from "node:fs/promises";
import { link, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { crc32 } from "../../serializers/integrity/crc32.js";
import { type FileRead, type FileRequest, type FileSteps, hasCode, unwritten } from "./requests.js";
import { factsOf } from "./sync-io.js";

/**
 * The most bytes checksummed in one go on the event loop's thread: zlib's CRC-32 takes about 0.3 ms a
 * megabyte here, so a 100 MB value is checked in 100 slices with the event loop served between them.
 */
const CHECKSUM_SLICE = 1 << 20;
/** How many files a `readMany` has open at once (libuv's pool has 4 threads; more keeps them busy). */
const READ_CONCURRENCY = 16;

/** Runs an operation's steps with `node:fs/promises` (in libuv's thread pool): the event loop never waits on a file. */
export async function runAsync<T>(steps: FileSteps<T>): Promise<T> {
  let next = steps.next();
  while (next.done !== true) {
    let result: unknown;
    try {
      result = await perform(next.value);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(result);
  }
  return next.value;
}

async function perform(request: FileRequest): Promise<unknown> {
  switch (request.kind) {
    case "read":
      return request.identify || request.length !== undefined
        ? readFile(request.path, request.length)
        : readWholeFile(request.path);
    case "readMany": {
      const results: (FileRead | undefined)[] = [];
      for (let start = 0; start < request.paths.length; start += READ_CONCURRENCY) {
        const slice = request.paths.slice(start, start + READ_CONCURRENCY);
        results.push(...(await Promise.all(slice.map((path) => readFile(path, request.length)))));
      }
      return results;
    }
    case "create":
      return create(request.path, request.parts);
    case "rename":
      return absentIsFalse(rename(request.from, request.to));
    case "link":
      try {
        await link(request.from, request.to);
        return true;
      } catch (error) {
        if (hasCode(error, "EEXIST")) return false;
        throw error;
      }
    case "unlink":
      return absentIsFalse(unlink(request.path));
    case "stat":
      try {
        return factsOf(await stat(request.path));
      } catch (error) {
        if (hasCode(error, "ENOENT", "ENOTDIR")) return undefined;
        throw error;
      }
    case "list":
      try {
        return await readdir(request.directory);
      } catch (error) {
        if (hasCode(error, "ENOENT")) return [];
        throw error;
      }
    case "checksum":
      return checksumInSlices(request.bytes);
  }
}

async function absentIsFalse(work: Promise<void>): Promise<boolean> {
  try {
    await work;
    return true;
  } catch (error) {
    if (hasCode(error, "ENOENT")) return false;
    throw error;
  }
}

async function checksumInSlices(bytes: Buffer): Promise<number> {
  let crc = crc32(bytes.subarray(0, CHECKSUM_SLICE));
  for (let start = CHECKSUM_SLICE; start < bytes.length; start += CHECKSUM_SLICE) {
    await nextTurn();
    crc = crc32(bytes.subarray(start, start + CHECKSUM_SLICE), crc);
  }
  return crc;
}

/** The first `length` bytes of a file (all of it for `undefined`), with what it is. */
async function readFile(path: string, length: number | undefined): Promise<FileRead | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (hasCode(error, "ENOENT", "ENOTDIR")) return undefined;
    throw error;
  }
  try {
    const stats = await handle.stat();
    const facts = factsOf(stats);
    if (!stats.isFile()) return { ...facts, bytes: Buffer.alloc(0) };
    const bytes = Buffer.allocUnsafe(Math.min(stats.size, length ?? stats.size));
    return { ...facts, bytes: await fill(handle, bytes, 0) };
  } finally {
    await handle.close();
  }
}

/** The rest of an open file whose first bytes `start` holds, after them (`start` is not read again). */
async function readRest(handle: FileHandle, start: Buffer): Promise<FileRead> {
  const stats = await handle.stat();
  const bytes = Buffer.allocUnsafe(Math.max(stats.size, start.length));
  start.copy(bytes);
  return { ...factsOf(stats), bytes: await fill(handle, bytes, start.length) };
}

/** Reads into `bytes` from `filled` on, until it is full or the file ends; the part filled. */
async function fill(handle: FileHandle, bytes: Buffer, filled: number): Promise<Buffer> {
  let end = filled;
  while (end < bytes.length) {
    const { bytesRead } = await handle.read(bytes, end, bytes.length - end, end);
    if (bytesRead === 0) break;
    end += bytesRead;
  }
  return bytes.subarray(0, end);
}

/** How much a whole read takes in its first go, before it asks the file's size. */
const FIRST_READ_BYTES = 64 << 10;

/**
 * A whole file, read without asking its size first unless it is over 64 KB (open, read, close: the close
 * is not waited for, as nothing depends on it): most entries are small, and each call is a trip through
 * libuv's thread pool.
 */
async function readWholeFile(path: string): Promise<FileRead | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if (hasCode(error, "ENOENT", "ENOTDIR")) return undefined;
    throw error;
  }
  let closing = false;
  try {
    const first = Buffer.allocUnsafe(FIRST_READ_BYTES);
    const { bytesRead } = await handle.read(first, 0, first.length, 0);
    if (bytesRead === first.length) return await readRest(handle, first);
    closing = true;
    handle.close().catch(() => undefined);
    return { identity: "", modified: 0, size: bytesRead, bytes: first.subarray(0, bytesRead) };
  } catch (error) {
    // A directory where an entry belongs reads as an empty file: not an entry.
    if (hasCode(error, "EISDIR")) return { identity: "", modified: 0, size: 0, bytes: Buffer.alloc(0) };
    throw error;
  } finally {
    if (!closing) await handle.close().catch(() => undefined);
  }
}

async function create(path: string, parts: readonly Uint8Array[]): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, "wx");
  } catch (error) {
    if (hasCode(error, "EEXIST")) return false;
    if (!hasCode(error, "ENOENT")) throw error;
    await mkdir(dirname(path), { recursive: true });
    handle = await open(path, "wx");
  }
  try {
    let pending = parts.filter((part) => part.length > 0);
    while (pending.length > 0) {
      const { bytesWritten } = await handle.writev(pending);
      pending = unwritten(pending, bytesWritten);
    }
  } catch (error) {
    await handle.close();
    await unlink(path).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return true;
}
