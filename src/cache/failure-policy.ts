import { BackendError, type CacheErrorOptions, type SerializationError } from "../errors.js";
import { causeMessage, isCachetoryError } from "../internal/error-kinds.js";
import { describeKey, quoteKey } from "../internal/quote-key.js";
import { type CacheErrorEvent, type CacheOptionsBase, choice } from "./options.js";

/** How often, at most, a cache without `onError` turns absorbed failures into a process warning. */
const WARNING_INTERVAL_MS = 10_000;

/** Counters of the failures a cache has met since it was built. */
export interface CacheStats {
  /** Reads whose backend call failed (thrown or answered as a miss). */
  readonly failedReads: number;
  /** Writes and deletes whose backend call failed. */
  readonly failedWrites: number;
  /** Stored values that did not decode. */
  readonly undecodableValues: number;
}

/**
 * What a failure becomes, for both cache flavours: a backend's error wrapped in a `BackendError` in the
 * caller's terms, a failed read thrown or answered as a miss (`failedReads`), an undecodable value thrown,
 * kept or deleted (`undecodableValues`), every one counted in `stats` and reported once, to `onError` or
 * (for what no caller saw) as a rate-limited process warning.
 */
export class FailurePolicy {
  readonly #prefix: string;
  readonly #onError: ((error: Error, event: CacheErrorEvent) => unknown) | undefined;
  readonly #readsMiss: boolean;
  readonly #undecodable: "delete" | "keep" | "throw";
  readonly #reported = new WeakSet();
  readonly #warned = new WeakSet();
  readonly #translations = new WeakMap<Error, Error>();
  readonly #inCallerTerms = new WeakSet<Error>();
  readonly #stats = { failedReads: 0, failedWrites: 0, undecodableValues: 0 };
  #lastWarningAt = Number.NEGATIVE_INFINITY;
  #heldBackWarnings = 0;

  /** @throws ConfigurationError for a `failedReads` or `undecodableValues` outside their choices. */
  constructor(
    options: Pick<CacheOptionsBase<unknown>, "onError" | "failedReads" | "undecodableValues">,
    prefix: string,
  ) {
    this.#prefix = prefix;
    this.#onError = options.onError;
    this.#readsMiss = choice("failedReads", options.failedReads, ["throw", "miss"]) === "miss";
    this.#undecodable = choice("undecodableValues", options.undecodableValues, ["delete", "keep", "throw"]);
  }

  /** Whether undecodable entries are deleted when met. */
  get deletesUndecodable(): boolean {
    return this.#undecodable === "delete";
  }

  /**
   * A stored value that did not decode: counted and reported, then thrown (policy `"throw"`); otherwise
   * the caller answers a miss.
   */
  undecodableValue(error: SerializationError, key: string): void {
    this.#stats.undecodableValues++;
    this.report(error, "get", key, this.#undecodable === "throw");
    if (this.#undecodable === "throw") throw error;
  }

  /**
   * Wraps a failure of the backend in a `BackendError`. cachetory's own errors pass through, in the
   * caller's terms: a backend names the prefixed key, the caller knows only its own.
   */
  backendFailure(operation: string, cause: unknown, key?: string): Error {
    if (isCachetoryError(cause)) return this.#withCallerKey(cause);
    return new BackendError(`${operation}${describeKey(key)} failed: ${causeMessage(cause)}`, { key, cause });
  }

  /**
   * The same error with the caller's key (the prefix taken off `key` and off the key quoted in the
   * message), as an error of the same class; one translation per error, so reporting stays once.
   */
  #withCallerKey(error: Error & { code: string }): Error {
    const backendKey = (error as { key?: unknown }).key;
    if (this.#prefix === "" || typeof backendKey !== "string" || !backendKey.startsWith(this.#prefix)) return error;
    if (this.#inCallerTerms.has(error)) return error;
    let translated = this.#translations.get(error);
    if (translated === undefined) {
      const key = backendKey.slice(this.#prefix.length);
      const message = error.message.replaceAll(quoteKey(backendKey), quoteKey(key));
      const ErrorClass = error.constructor as new (message: string, options: CacheErrorOptions) => Error;
      translated = new ErrorClass(message, { key, ...("cause" in error ? { cause: error.cause } : {}) });
      this.#translations.set(error, translated);
      this.#inCallerTerms.add(translated);
    }
    return translated;
  }

  /**
   * A failed read: counted and reported, then the error to throw, or `undefined` when the policy makes
   * it a miss.
   *
   * @param absorbed - Whether the caller answers without the error whatever the policy (a stale value
   *   served instead, a memoized function that computes); default: by the policy.
   */
  readFailed(operation: string, cause: unknown, key?: string, absorbed: boolean = this.#readsMiss): Error | undefined {
    const error = this.backendFailure(operation, cause, key);
    // A closed cache is the caller's mistake, not the store's: always thrown, never counted.
    if ((error as { code?: unknown }).code === "CACHETORY_CACHE_CLOSED") return error;
    this.#stats.failedReads++;
    this.report(error, operation, key, !absorbed);
    return absorbed ? undefined : error;
  }

  /**
   * A failed write or delete: counted and reported, then the error to throw.
   *
   * @param thrown - Whether the caller is handed the error (`false` for work nobody awaits).
   */
  writeFailed(operation: string, cause: unknown, key?: string, thrown = true): Error {
    const error = this.backendFailure(operation, cause, key);
    if ((error as { code?: unknown }).code !== "CACHETORY_CACHE_CLOSED") {
      this.#stats.failedWrites++;
      this.report(error, operation, key, thrown);
    }
    return error;
  }

  /** A snapshot of the failure counters. */
  /** Back to zero. */
  resetStats(): void {
    this.#stats.failedReads = 0;
    this.#stats.failedWrites = 0;
    this.#stats.undecodableValues = 0;
  }

  get stats(): CacheStats {
    return { ...this.#stats };
  }

  /**
   * Hands a failure to `onError` (each error once), or without a handler turns it into a rate-limited
   * process warning, but only when the caller was not handed the error itself: a rejection the caller
   * sees needs no second report, while an absorbed one would otherwise go unnoticed.
   *
   * @param thrown - Whether this failure reaches the caller as a rejection or exception.
   */
  report(cause: unknown, operation: string, key?: string, thrown = false): void {
    const failure = this.backendFailure(operation, cause, key);
    if (this.#onError === undefined) {
      if (thrown || this.#warned.has(failure)) return;
      this.#warned.add(failure);
      this.#warn(failure);
      return;
    }
    if (this.#reported.has(failure)) return;
    this.#reported.add(failure);
    try {
      const handled: unknown = this.#onError(failure, { operation, key });
      // An async handler that rejects must not become an unhandled rejection that ends the process.
      if (typeof (handled as PromiseLike<unknown> | undefined)?.then === "function") {
        (handled as PromiseLike<unknown>).then(undefined, (handlerError: unknown) => {
          this.#warnOnce(handlerError, failure);
        });
      }
    } catch (handlerError) {
      // A failing handler must not break the call it reports on; it is reported the default way.
      this.#warnOnce(handlerError, failure);
    }
  }

  #warnOnce(handlerError: unknown, failure: Error): void {
    const error = handlerError instanceof Error ? handlerError : failure;
    if (this.#warned.has(error)) return;
    this.#warned.add(error);
    this.#warn(error);
  }

  #warn(error: Error): void {
    const now = performance.now();
    if (now - this.#lastWarningAt < WARNING_INTERVAL_MS) {
      this.#heldBackWarnings++;
      return;
    }
    const heldBack = this.#heldBackWarnings;
    this.#lastWarningAt = now;
    this.#heldBackWarnings = 0;
    const more = heldBack > 0 ? ` (and ${String(heldBack)} more failures in the last 10 s)` : "";
    process.emitWarning(`${error.message}${more}`, {
      type: "CachetoryWarning",
      code: (error as { code?: string }).code,
    });
  }
}
