import {
  BackendError,
  CacheClosedError,
  type CacheError,
  CacheMissError,
  CacheTimeoutError,
  ConfigurationError,
  SerializationError,
} from "../../errors.js";

/** An error as it crosses from the worker to the caller: its parts, and its cause's. */
export interface ErrorParts {
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
  readonly key: string | undefined;
  readonly cause?: ErrorParts | undefined;
}

/** cachetory's error classes by their `code`: the caller's side rebuilds the class the worker threw. */
const CLASSES_BY_CODE: ReadonlyMap<
  string,
  new (message: string, options: { key?: string; cause?: unknown }) => CacheError
> = new Map(
  [BackendError, CacheClosedError, CacheMissError, CacheTimeoutError, ConfigurationError, SerializationError].map(
    (ErrorClass) => [new ErrorClass("").code, ErrorClass],
  ),
);

/** The parts of a thrown value (a cause chain of at most a few levels; structured clone loses `code` and `key`). */
export function errorParts(error: unknown, depth = 0): ErrorParts {
  const { name, message, code, key, cause } = (error ?? {}) as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    key?: unknown;
    cause?: unknown;
  };
  return {
    name: typeof name === "string" ? name : "Error",
    message: typeof message === "string" ? message : String(error),
    code: typeof code === "string" ? code : undefined,
    key: typeof key === "string" ? key : undefined,
    cause: cause !== undefined && depth < 4 ? errorParts(cause, depth + 1) : undefined,
  };
}

/** The error the parts describe: one of cachetory's classes by its code (else a `BackendError`), its cause kept. */
export function errorFromParts(parts: ErrorParts): Error {
  const cause = parts.cause === undefined ? undefined : plainError(parts.cause);
  const ErrorClass = CLASSES_BY_CODE.get(parts.code ?? "") ?? BackendError;
  return new ErrorClass(parts.message, {
    ...(parts.key === undefined ? {} : { key: parts.key }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A cause as an `Error` of its own name, code and message (its class is the client library's, not ours). */
function plainError(parts: ErrorParts): Error {
  if (parts.code?.startsWith("CACHETORY_") === true) return errorFromParts(parts);
  const error = new Error(parts.message, parts.cause === undefined ? undefined : { cause: plainError(parts.cause) });
  error.name = parts.name;
  if (parts.code !== undefined) Object.assign(error, { code: parts.code });
  return error;
}
