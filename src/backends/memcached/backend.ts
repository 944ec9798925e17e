import { BackendError, ConfigurationError } from "../../errors.js";
import { CacheUrl } from "../../internal/cache-url.js";
import type { HostAndPort } from "../../internal/host-port.js";
import { checkConfiguration } from "../../internal/options.js";
import { CheckedBackend } from "../../layers/checked.js";
import type { CircuitState } from "../../layers/circuit-breaker.js";
import { CoalescedBackend } from "../../layers/coalesced.js";
import { DeadlineGuard, type GuardedConnection } from "../../layers/deadline-guard.js";
import { GuardedBackend } from "../../layers/guarded.js";
import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
} from "../contract.js";
import { MemcachedStore } from "./store.js";
import {
  checkMemcachedTimings,
  checkNamespace,
  definedMemcachedTimings,
  MEMCACHED_TIMING_NAMES,
  type MemcachedTimings,
  memcachedSettingsFromUrl,
} from "./url.js";

/** Options of {@link MemcachedBackend}; every time is in milliseconds. */
export interface MemcachedBackendOptions extends Partial<MemcachedTimings> {
  /**
   * The servers: `memcached://host:11211,host:11212`. Its query may set `namespace`, `timeout`,
   * `connect-timeout`, `max-in-flight`, `server-retry`, `server-retry-max`, `breaker-threshold` and
   * `breaker-duration`; options given here win.
   */
  readonly url?: string;
  /**
   * What this backend's keys live under, on every server: `clear()` drops them all at once, by a new
   * generation. Caches that share servers and must not clear each other take different namespaces.
   * Default `""`.
   */
  readonly namespace?: string;
}

/** Every server is ready to be asked: each connects, and fails, on its own. */
const ALWAYS_READY: GuardedConnection = {
  ready: true,
  refusal: undefined,
  lastErrorMessage: undefined,
  whenReady: () => Promise.resolve(),
};

/**
 * The memcached backend (`memcached://host:11211,host:11212`), with no dependency: a small client of
 * memcached's meta protocol (memcached 1.6 or newer). Keys are placed on the servers by libketama's
 * consistent hashing, so other ketama clients of the pool agree; a server that fails is taken out and
 * tried again with a doubling delay while the others' keys are served. Keys memcached would refuse (long,
 * with spaces or control characters) are sent in base64 or as a hash, never mixed up; `clear()` without a
 * prefix moves the namespace to a new generation on every server (never `flush_all`). `getMany` is one
 * round trip per server; every operation settles within `timeout` (default 500 ms).
 *
 * @example
 * ```ts
 * const cache = new Cache<User>({ backend: "memcached://10.0.0.1:11211,10.0.0.2:11211?namespace=app", serializer: "msgpack://" });
 * ```
 */
export class MemcachedBackend implements AsyncBackend<Buffer> {
  /** Bytes only; `setMany` is not atomic (memcached has no transactions). */
  readonly capabilities: BackendCapabilities<Buffer> = { bytesOnly: true, atomicBatches: "none" };
  readonly #store: MemcachedStore;
  readonly #guard: DeadlineGuard;
  readonly #layers: CheckedBackend;
  /** The checks over the store alone: listings have their own connection and deadline. */
  readonly #checked: CheckedBackend;

  /** @throws ConfigurationError for a bad URL or option. */
  constructor(options: MemcachedBackendOptions = {}) {
    checkConfiguration(options, {
      what: "MemcachedBackend",
      known: ["url", "namespace", ...MEMCACHED_TIMING_NAMES],
      example: '{ url: "memcached://127.0.0.1:11211", timeout: 500 }',
    });
    const url = new CacheUrl(options.url ?? "memcached://127.0.0.1:11211");
    const settings = memcachedSettingsFromUrl(url, url.parametersFor(url.scheme));
    url.rejectUnreadParameters();
    const timings = { ...settings.timings, ...definedMemcachedTimings(options) };
    checkMemcachedTimings({ ...timings });
    if (timings.serverRetryMax < timings.serverRetry) {
      throw new ConfigurationError(
        `MemcachedBackend's serverRetryMax (${String(timings.serverRetryMax)}) is below its serverRetry (${String(timings.serverRetry)})`,
      );
    }
    const namespace = options.namespace === undefined ? settings.namespace : checkNamespace(options.namespace);
    this.#store = new MemcachedStore(settings.servers, namespace, timings);
    this.#guard = new DeadlineGuard(ALWAYS_READY, {
      timeout: timings.timeout,
      maxInFlight: timings.maxInFlight,
      target: `memcached at ${describeServers(settings.servers)}`,
      breaker: { threshold: timings.breakerThreshold, duration: timings.breakerDuration },
    });
    this.#layers = new CheckedBackend(
      new GuardedBackend(
        new CoalescedBackend(this.#store, { readBatch: (keys) => this.#store.readBatch(keys) }),
        this.#guard,
      ),
      { store: "the memcached backend" },
    );
    this.#checked = new CheckedBackend(this.#store, { store: "the memcached backend" });
  }

  /** Operations sent and not yet answered, for monitoring. */
  get inFlight(): number {
    return this.#guard.inFlight;
  }

  /** Where the circuit breaker stands (it is off unless `breakerThreshold` is set). */
  get circuit(): CircuitState {
    return this.#guard.circuit;
  }

  /** The server (`host:port`) that holds `key`, as the ring places it. */
  serverOf(key: string): string {
    return this.#store.serverNames[this.#store.serverOf(key)] as string;
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.#layers.get(key);
  }

  /** One round trip per server. */
  getMany(keys: readonly string[]): Promise<Map<string, Buffer>> {
    return this.#layers.getMany(keys);
  }

  /** With `ifNotExists`, memcached's `add` (true to its word under concurrency). */
  set(key: string, value: unknown, options: BackendSetOptions): Promise<boolean> {
    return this.#layers.set(key, value, options);
  }

  /** One round trip per server; not atomic. */
  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): Promise<void> {
    return this.#layers.setMany(entries, timeToLive);
  }

  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return this.#layers.expireIn(key, timeToLive);
  }

  delete(key: string): Promise<boolean> {
    return this.#layers.delete(key);
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    return this.#layers.deleteMany(keys);
  }

  has(key: string): Promise<boolean> {
    return this.#layers.has(key);
  }

  /** Whole seconds, as memcached keeps them. */
  ttl(key: string): Promise<number | null | undefined> {
    return this.#layers.ttl(key);
  }

  /**
   * One page per server: its whole list of this namespace's keys (memcached lists no other way), over a
   * connection of its own, within 30 s rather than `timeout`.
   */
  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    return this.#checked.scan(cursor, options);
  }

  /** With the value's CAS: another writer's value since is kept. */
  deleteIfUnchanged(key: string, value: unknown): Promise<boolean> {
    return this.#layers.deleteIfUnchanged(key, value);
  }

  /**
   * Without a prefix, a new generation on every server, within `timeout`; with one, the prefix's keys
   * listed server by server and deleted in batches, each batch within `timeout`.
   */
  clear(prefix: string): Promise<void> {
    if (typeof prefix !== "string") return Promise.reject(new BackendError("clear takes a prefix, as a string"));
    return this.#store.clear(prefix, (send) => this.#guard.run("clear", undefined, send));
  }

  /** Waits for what was sent (each within its deadline), then closes the connections. */
  close(): Promise<void> {
    return this.#layers.close();
  }
}

function describeServers(servers: readonly HostAndPort[]): string {
  const names = servers.map(({ host, port }) => `${host}:${String(port)}`);
  return names.length <= 3 ? names.join(",") : `${names.slice(0, 3).join(",")},…`;
}
