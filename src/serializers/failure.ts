import { CacheError, SerializationError } from "../errors.js";
import { causeMessage } from "../internal/error-kinds.js";

/**
 * Runs one encode or decode of a built-in serializer, so that whatever it throws reaches the caller as a
 * `SerializationError` naming the scheme, with the original as `cause` (a compressor's size bound is a
 * `RangeError` inside, `JSON.parse` a `SyntaxError`, msgpackr a plain `Error`). Our own errors pass unchanged.
 */
export function typedFailure(scheme: string, action: "encode" | "decode", cause: unknown): CacheError {
  if (cause instanceof CacheError) return cause;
  const message = causeMessage(cause);
  return new SerializationError(
    `${scheme} cannot ${action} ${action === "encode" ? "the value" : "these bytes"}: ${message}`,
    {
      cause,
    },
  );
}
