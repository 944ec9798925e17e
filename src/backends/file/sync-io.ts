import {
  closeSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  unlinkSync,
  writevSync,
} from "node:fs";
import { dirname } from "node:path";
import { crc32 } from "../../serializers/integrity/crc32.js";
import { type FileFacts, type FileRead, type FileRequest, type FileSteps, hasCode, unwritten } from "./requests.js";

/** Runs an operation's steps with `node:fs`'s synchronous calls. */
export function runSync<T>(steps: FileSteps<T>): T {
  let next = steps.next();
  while (next.done !== true) {
    let result: unknown;
    try {
      result = perform(next.value);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(result);
  }
  return next.value;
}

function perform(request: FileRequest): unknown {
  switch (request.kind) {
    case "read":
      return readFile(request.path, request.length);
    case "readMany":
      return request.paths.map((path) => readFile(path, request.length));
    case "create":
      return create(request.path, request.parts);
    case "rename":
      return absentIsFalse(() => {
        renameSync(request.from, request.to);
      });
    case "link":
      try {
        linkSync(request.from, request.to);
        return true;
      } catch (error) {
        if (hasCode(error, "EEXIST")) return false;
        throw error;
      }
    case "unlink":
      return absentIsFalse(() => {
        unlinkSync(request.path);
      });
    case "stat": {
      const stats = statSync(request.path, { throwIfNoEntry: false });
      return stats === undefined ? undefined : factsOf(stats);
    }
    case "list":
      try {
        return readdirSync(request.directory);
      } catch (error) {
        if (hasCode(error, "ENOENT")) return [];
        throw error;
      }
    case "checksum":
      return crc32(request.bytes);
  }
}

/** What the entry logic compares of a file. */
export function factsOf(stats: Stats): FileFacts {
  return { identity: `${String(stats.dev)}:${String(stats.ino)}`, size: stats.size, modified: stats.mtimeMs };
}

function absentIsFalse(work: () => void): boolean {
  try {
    work();
    return true;
  } catch (error) {
    if (hasCode(error, "ENOENT")) return false;
    throw error;
  }
}

function readFile(path: string, length: number | undefined): FileRead | undefined {
  let descriptor: number;
  try {
    descriptor = openSync(path, "r");
  } catch (error) {
    if (hasCode(error, "ENOENT", "ENOTDIR")) return undefined;
    throw error;
  }
  try {
    const stats = fstatSync(descriptor);
    const facts = factsOf(stats);
    if (!stats.isFile()) return { ...facts, bytes: Buffer.alloc(0) };
    const bytes = Buffer.allocUnsafe(Math.min(stats.size, length ?? stats.size));
    let filled = 0;
    while (filled < bytes.length) {
      const count = readSync(descriptor, bytes, filled, bytes.length - filled, filled);
      if (count === 0) break;
      filled += count;
    }
    return { ...facts, bytes: bytes.subarray(0, filled) };
  } finally {
    closeSync(descriptor);
  }
}

function create(path: string, parts: readonly Uint8Array[]): boolean {
  let descriptor: number;
  try {
    descriptor = openSync(path, "wx");
  } catch (error) {
    if (hasCode(error, "EEXIST")) return false;
    if (!hasCode(error, "ENOENT")) throw error;
    mkdirSync(dirname(path), { recursive: true });
    descriptor = openSync(path, "wx");
  }
  try {
    let pending = parts.filter((part) => part.length > 0);
    while (pending.length > 0) {
      pending = unwritten(pending, writevSync(descriptor, pending));
    }
  } catch (error) {
    closeSync(descriptor);
    rmSync(path, { force: true });
    throw error;
  }
  closeSync(descriptor);
  return true;
}
