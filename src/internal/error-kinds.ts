/** What any thrown value is as an `Error`: itself when it is one, else wrapped, for promise rejections. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Whether `error` is one of cachetory's own errors (then it passes through unwrapped). By `code`, not
 * `instanceof`: the ESM and the CommonJS copy of this package may both be loaded.
 */
export function isCachetoryError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === "string" && code.startsWith("CACHETORY_");
}

/** The cause's own message, for appending to ours. */
export function causeMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
