import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
} from "../backends/contract.js";
import type { DeadlineGuard } from "./deadline-guard.js";

/** Options of {@link GuardedBackend}. */
export interface GuardedBackendOptions {
  /**
   * Whether `clear` guards each of its round trips itself, through the same guard (a store that clears by
   * scanning, where the whole may take longer than one deadline). Default `false`: `clear` is one guarded call.
   */
  readonly clearGuardsItsSteps?: boolean;
}

/**
 * A layer over any remote backend: every operation goes through a {@link DeadlineGuard}, so that it is
 * admitted or refused at once (bounded in-flight work, an open circuit, a server that refused the
 * connection), waits for the connection instead of queueing inside the client, and settles within the
 * deadline. Reads (`get`, `getMany`, `has`) may be sent once more when their connection drops under them;
 * writes never are. Closing rejects what was not sent and waits for the writes already sent.
 *
 * @example
 * ```ts
 * const guard = new DeadlineGuard(connection, { timeout: 500, maxInFlight: 10_000, target: "memcached at host", breaker });
 * const backend = new GuardedBackend(store, guard);
 * ```
 */
export class GuardedBackend<W> implements AsyncBackend<W> {
  readonly #inner: AsyncBackend<W>;
  readonly #guard: DeadlineGuard;
  readonly #clearGuardsItsSteps: boolean;

  constructor(inner: AsyncBackend<W>, guard: DeadlineGuard, options: GuardedBackendOptions = {}) {
    this.#inner = inner;
    this.#guard = guard;
    this.#clearGuardsItsSteps = options.clearGuardsItsSteps ?? false;
  }

  get capabilities(): BackendCapabilities<W> | undefined {
    return this.#inner.capabilities;
  }

  get(key: string): Promise<W | undefined> {
    return this.#guard.run("get", key, () => this.#inner.get(key), true);
  }

  getMany(keys: readonly string[]): Promise<Map<string, W>> {
    return this.#guard.run("getMany", onlyKey(keys), () => this.#inner.getMany(keys), true);
  }

  set(key: string, value: W, options: BackendSetOptions): Promise<boolean> {
    return this.#guard.run("set", key, () => this.#inner.set(key, value, options));
  }

  setMany(entries: readonly (readonly [string, W])[], timeToLive: number | undefined): Promise<void> {
    const key = entries.length === 1 ? entries[0]?.[0] : undefined;
    return this.#guard.run("setMany", key, () => this.#inner.setMany(entries, timeToLive));
  }

  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return this.#guard.run("expireIn", key, () => this.#inner.expireIn(key, timeToLive));
  }

  delete(key: string): Promise<boolean> {
    return this.#guard.run("delete", key, () => this.#inner.delete(key));
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    return this.#guard.run("deleteMany", onlyKey(keys), () => this.#inner.deleteMany(keys));
  }

  has(key: string): Promise<boolean> {
    return this.#guard.run("has", key, () => this.#inner.has(key), true);
  }

  ttl(key: string): Promise<number | null | undefined> {
    return this.#guard.run("ttl", key, () => this.#inner.ttl(key), true);
  }

  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    return this.#guard.run("scan", undefined, () => this.#inner.scan(cursor, options), true);
  }

  deleteIfUnchanged(key: string, value: W): Promise<boolean> {
    return this.#guard.run("delete", key, () => this.#inner.deleteIfUnchanged?.(key, value) ?? Promise.resolve(false));
  }

  clear(prefix: string): Promise<void> {
    if (this.#clearGuardsItsSteps) return this.#inner.clear(prefix);
    return this.#guard.run("clear", undefined, () => this.#inner.clear(prefix));
  }

  /** Settles what the guard holds (see {@link DeadlineGuard.close}), then closes the wrapped backend. */
  async close(): Promise<void> {
    await this.#guard.close();
    await this.#inner.close();
  }
}

/** The key of a batch of one, for messages and `error.key`. */
function onlyKey(keys: readonly string[]): string | undefined {
  return keys.length === 1 ? keys[0] : undefined;
}
