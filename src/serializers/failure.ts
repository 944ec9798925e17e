import { SerializationError } from "../errors.js";
import { causeMessage, isCachetoryError } from "../internal/error-kinds.js";

/**
 * The error a built-in serializer throws when one encode or decode fails: whatever failed inside reaches
 * the caller as a `SerializationError` naming the scheme, with the original as `cause` (a compressor's size bound is a
 * `RangeError` inside, `JSON.parse` a `SyntaxError`, msgpackr a plain `Error`). Our own errors pass unchanged.
 */
export function typedFailure(scheme: string, action: "encode" | "decode", cause: unknown): Error {
  // By code, not instanceof: an error of the other module copy (ESM or CommonJS) is ours too.
  if (isCachetoryError(cause)) return cause;
  const message = causeMessage(cause);
  return new SerializationError(
    `${scheme} cannot ${action} ${action === "encode" ? "the value" : "these bytes"}: ${message}`,
    {
      cause,
    },
  );
}
