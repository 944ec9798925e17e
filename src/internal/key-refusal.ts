import { BackendError } from "../errors.js";
import { hasLoneSurrogate } from "./bytes.js";
import { quoteKey } from "./quote-key.js";

/**
 * A rejection for a key a store of UTF-8 bytes cannot hold distinctly, or `undefined` for a good key: a
 * lone surrogate has no UTF-8 form, so it would be stored as U+FFFD and collide with other keys (B7).
 */
export function refuseKey(operation: string, key: string): Promise<never> | undefined {
  const refusal = keyRefusal(operation, key);
  return refusal === undefined ? undefined : Promise.reject(refusal);
}

/** The error for a key a store of UTF-8 bytes cannot hold (see {@link refuseKey}), or `undefined`. */
export function keyRefusal(operation: string, key: string): BackendError | undefined {
  let problem: string | undefined;
  if (typeof key !== "string") problem = `keys are strings, got ${typeof key}`;
  else if (hasLoneSurrogate(key)) problem = "it contains a lone UTF-16 surrogate, which has no UTF-8 form";
  if (problem === undefined) return undefined;
  return new BackendError(`${operation} of key ${quoteKey(key)} refused: ${problem}`, { key });
}

/** The first refusal among `keys` (see {@link refuseKey}), or `undefined` when all are good. */
export function refuseKeys(operation: string, keys: readonly string[]): Promise<never> | undefined {
  for (const key of keys) {
    const refusal = refuseKey(operation, key);
    if (refusal !== undefined) return refusal;
  }
  return undefined;
}
