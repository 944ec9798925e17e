import { CacheUrl } from "../../internal/cache-url.js";
import { checkConfiguration } from "../../internal/options.js";
import { WorkerThreadBackend } from "../worker/thread-backend.js";
import {
  checkMemcachedTimings,
  checkNamespace,
  MEMCACHED_TIMING_NAMES,
  memcachedSettingsFromUrl,
  type MemcachedTimings,
} from "./url.js";

/** Options of the synchronous {@link MemcachedBackend}; every time is in milliseconds. */
export interface SyncMemcachedBackendOptions extends Partial<MemcachedTimings> {
  /** As for the async backend: `memcached://host:11211,host:11212?namespace=…`. */
  readonly url: string;
  /** As for the async backend. */
  readonly namespace?: string;
  /** How long the first call may wait for the worker thread to start (default 10 000). */
  readonly workerStartTimeout?: number;
  /** How long `clear()` may block, over all its round trips (default 30 000). */
  readonly clearTimeout?: number;
}

/**
 * The memcached backend for `SyncCache` (`memcached://`): a worker thread runs the async
 * `MemcachedBackend` and each call **blocks the calling thread** until it answers, at most `timeout`
 * (default 500 ms) plus a few milliseconds. Meant for scripts and CLIs; servers should use the async `Cache`.
 *
 * @example
 * ```ts
 * const cache = new SyncCache<number>({ backend: "memcached://127.0.0.1:11211", serializer: "json://" });
 * cache.set("answer", 42);
 * ```
 */
export class MemcachedBackend extends WorkerThreadBackend {
  /** @throws ConfigurationError for a bad URL or option. */
  constructor(options: SyncMemcachedBackendOptions) {
    checkConfiguration(options, {
      what: "the synchronous MemcachedBackend",
      known: ["url", "namespace", "workerStartTimeout", "clearTimeout", ...MEMCACHED_TIMING_NAMES],
      example: '{ url: "memcached://127.0.0.1:11211", timeout: 500 }',
    });
    // Parse now, so that a bad URL fails here rather than in the worker.
    const url = new CacheUrl(options.url);
    const settings = memcachedSettingsFromUrl(url, url.parametersFor(url.scheme));
    url.rejectUnreadParameters();
    if (options.namespace !== undefined) checkNamespace(options.namespace);
    const { workerStartTimeout = 10_000, clearTimeout = 30_000, ...backendOptions } = options;
    const numbers: Record<string, number | undefined> = { workerStartTimeout, clearTimeout };
    for (const name of MEMCACHED_TIMING_NAMES) numbers[name] = options[name];
    checkMemcachedTimings(numbers);
    super({
      kind: "memcached",
      options: backendOptions,
      target: "memcached",
      timeout: options.timeout ?? settings.timings.timeout,
      workerStartTimeout,
      clearTimeout,
      capabilities: { bytesOnly: true, atomicBatches: "none" },
    });
  }
}
