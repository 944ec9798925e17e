/**
 * The file operations an entry needs, as requests: each operation of the file backend is written once, as
 * a generator that yields these and is handed their results, and is run either synchronously (the sync
 * backend, `node:fs`'s sync calls) or asynchronously (the async backend, `node:fs/promises` in libuv's
 * thread pool), so both flavours do exactly the same steps.
 */
export type FileRequest =
  | {
      readonly kind: "read";
      readonly path: string;
      readonly length: number | undefined;
      /** Whether the caller needs the file's identity and time (a read of the whole file may go without). */
      readonly identify: boolean;
    }
  | { readonly kind: "readMany"; readonly paths: readonly string[]; readonly length: number }
  | { readonly kind: "create"; readonly path: string; readonly parts: readonly Uint8Array[] }
  | { readonly kind: "rename"; readonly from: string; readonly to: string }
  | { readonly kind: "link"; readonly from: string; readonly to: string }
  | { readonly kind: "unlink"; readonly path: string }
  | { readonly kind: "stat"; readonly path: string }
  | { readonly kind: "list"; readonly directory: string }
  | { readonly kind: "checksum"; readonly bytes: Buffer };

/** One operation's steps, ending in its result `T`. */
export type FileSteps<T> = Generator<FileRequest, T, unknown>;

/** What a file is, as the entry logic compares it: the same identity means the same file, not a replacement. */
export interface FileFacts {
  /** Device and inode: a file renamed into place has a new one. */
  readonly identity: string;
  readonly size: number;
  /** Last modification, in milliseconds since the epoch. */
  readonly modified: number;
}

/** The start of a file (or all of it), with what it is. */
export interface FileRead extends FileFacts {
  readonly bytes: Buffer;
}

/**
 * Reads `length` bytes (all when `undefined`); `undefined` when there is no such file. A whole read that
 * is not to `identify` the file may leave its identity empty and its time 0 (one system call fewer).
 */
export function* read(path: string, length?: number, identify = true): FileSteps<FileRead | undefined> {
  return (yield { kind: "read", path, length, identify }) as FileRead | undefined;
}

/** Reads the first `length` bytes of each file (`undefined` for one that is gone), in parallel where it can. */
export function* readMany(paths: readonly string[], length: number): FileSteps<(FileRead | undefined)[]> {
  return (yield { kind: "readMany", paths, length }) as (FileRead | undefined)[];
}

/**
 * Creates `path` exclusively with `parts` as its content (its directory made when absent); `false` when
 * it exists already.
 */
export function* create(path: string, parts: readonly Uint8Array[]): FileSteps<boolean> {
  return (yield { kind: "create", path, parts }) as boolean;
}

/** Renames `from` to `to`, replacing `to` atomically; `false` when `from` is gone. */
export function* rename(from: string, to: string): FileSteps<boolean> {
  return (yield { kind: "rename", from, to }) as boolean;
}

/** Links `from` as `to` too; `false` when `to` exists (atomic: of two linkers, one wins). */
export function* link(from: string, to: string): FileSteps<boolean> {
  return (yield { kind: "link", from, to }) as boolean;
}

/** Removes `path`; `false` when it was gone already. */
export function* unlink(path: string): FileSteps<boolean> {
  return (yield { kind: "unlink", path }) as boolean;
}

/** What `path` is, or `undefined` when it is gone. */
export function* stat(path: string): FileSteps<FileFacts | undefined> {
  return (yield { kind: "stat", path }) as FileFacts | undefined;
}

/** The names in `directory` (none when it does not exist). */
export function* list(directory: string): FileSteps<string[]> {
  return (yield { kind: "list", directory }) as string[];
}

/** CRC-32 of `bytes` (the async runner computes a large one in slices, serving the event loop between them). */
export function* checksum(bytes: Buffer): FileSteps<number> {
  return (yield { kind: "checksum", bytes }) as number;
}

/** Whether `error` is a file-system error with one of `codes`. */
export function hasCode(error: unknown, ...codes: string[]): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && codes.includes(code);
}

/** What is left of `parts` after a write took `written` bytes of them (a short write, rare on a file). */
export function unwritten(parts: readonly Uint8Array[], written: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = written;
  for (const part of parts) {
    if (skip >= part.length) skip -= part.length;
    else {
      rest.push(part.subarray(skip));
      skip = 0;
    }
  }
  return rest;
}
