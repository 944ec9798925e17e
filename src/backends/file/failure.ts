import { BackendError } from "../../errors.js";
import { describeKey } from "../../internal/quote-key.js";

/** A file-system failure as a `BackendError` naming the operation, the key, the directory and why. */
export function fileFailure(operation: string, key: string | undefined, directory: string, cause: unknown): Error {
  if ((cause as { name?: unknown } | null)?.name === "BackendError") return cause as Error;
  const code = (cause as { code?: unknown } | null)?.code;
  const why =
    code === "ENOSPC"
      ? "the disk is full"
      : code === "EACCES" || code === "EPERM"
        ? "permission denied"
        : code === "EROFS"
          ? "the file system is read-only"
          : cause instanceof Error
            ? cause.message
            : String(cause);
  return new BackendError(`${operation}${describeKey(key)} on the file backend at ${directory} failed: ${why}`, {
    key,
    cause,
  });
}
