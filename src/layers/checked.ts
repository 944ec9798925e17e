import { BackendError } from "../errors.js";
import { asError } from "../internal/error-kinds.js";
import { refuseKey, refuseKeys } from "../internal/key-refusal.js";
import { storedBytes } from "../internal/stored-bytes.js";
import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
} from "../backends/contract.js";

/** What {@link CheckedBackend} checks values against. */
export interface CheckedBackendOptions {
  /** For messages: `"the memcached backend"`. */
  readonly store: string;
  /** The most one value may hold, in bytes (default: no bound). */
  readonly maxValueBytes?: number;
}

/**
 * The checks every store of UTF-8 bytes needs before its layers see a call, as a layer: a key that has no
 * UTF-8 form (a lone surrogate) is refused, values become bytes (strings as UTF-8, bytes without a copy),
 * a value over the store's bound is refused before anything is sent, and empty batches cost nothing. Each
 * refusal is a rejected promise, never a throw.
 *
 * @example
 * ```ts
 * const backend = new CheckedBackend(new GuardedBackend(store, guard), { store: "the memcached backend" });
 * ```
 */
export class CheckedBackend implements AsyncBackend<Buffer> {
  readonly capabilities: BackendCapabilities<Buffer> | undefined;
  readonly #inner: AsyncBackend<Buffer>;
  readonly #store: string;
  readonly #maxValueBytes: number;

  constructor(inner: AsyncBackend<Buffer>, options: CheckedBackendOptions) {
    this.#inner = inner;
    this.capabilities = inner.capabilities;
    this.#store = options.store;
    this.#maxValueBytes = options.maxValueBytes ?? Number.MAX_SAFE_INTEGER;
  }

  #bytes(key: string, value: unknown): Buffer {
    return storedBytes(this.#store, key, value, this.#maxValueBytes);
  }

  get(key: string): Promise<Buffer | undefined> {
    return refuseKey("get", key) ?? this.#inner.get(key);
  }

  getMany(keys: readonly string[]): Promise<Map<string, Buffer>> {
    if (keys.length === 0) return Promise.resolve(new Map<string, Buffer>());
    return refuseKeys("getMany", keys) ?? this.#inner.getMany(keys);
  }

  set(key: string, value: unknown, options: BackendSetOptions): Promise<boolean> {
    const refusal = refuseKey("set", key);
    if (refusal !== undefined) return refusal;
    try {
      return this.#inner.set(key, this.#bytes(key, value), options);
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    let values: [string, Buffer][];
    try {
      values = entries.map(([key, value]) => [key, this.#bytes(key, value)]);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return (
      refuseKeys(
        "setMany",
        values.map(([key]) => key),
      ) ?? this.#inner.setMany(values, timeToLive)
    );
  }

  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return refuseKey("expireIn", key) ?? this.#inner.expireIn(key, timeToLive);
  }

  delete(key: string): Promise<boolean> {
    return refuseKey("delete", key) ?? this.#inner.delete(key);
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    return refuseKeys("deleteMany", keys) ?? this.#inner.deleteMany(keys);
  }

  has(key: string): Promise<boolean> {
    return refuseKey("has", key) ?? this.#inner.has(key);
  }

  ttl(key: string): Promise<number | null | undefined> {
    return refuseKey("ttl", key) ?? this.#inner.ttl(key);
  }

  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    if (typeof cursor !== "string" || (options.match !== undefined && typeof options.match !== "string")) {
      return Promise.reject(new BackendError("scan takes a cursor and an optional match pattern, as strings"));
    }
    return this.#inner.scan(cursor, options);
  }

  deleteIfUnchanged(key: string, value: unknown): Promise<boolean> {
    const refusal = refuseKey("delete", key);
    if (refusal !== undefined) return refusal;
    try {
      return this.#inner.deleteIfUnchanged?.(key, this.#bytes(key, value)) ?? Promise.resolve(false);
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  clear(prefix: string): Promise<void> {
    if (typeof prefix !== "string") return Promise.reject(new BackendError("clear takes a prefix, as a string"));
    return this.#inner.clear(prefix);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
