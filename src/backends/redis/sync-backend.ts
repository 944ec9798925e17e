import { ConfigurationError } from "../../errors.js";
import { CacheUrl } from "../../internal/cache-url.js";
import { checkConfiguration } from "../../internal/options.js";
import { requireInstalled } from "../../internal/load-optional.js";
import { WorkerThreadBackend } from "../worker/thread-backend.js";
import { checkPositiveIntegers, DEFAULT_REDIS_URL, REDIS_TIMING_NAMES, type RedisTimings } from "./url.js";
import { redisSettingsFromUrl } from "./backend.js";

/** Options of the synchronous {@link RedisBackend}; every time is in milliseconds. */
export interface SyncRedisBackendOptions extends Partial<RedisTimings> {
  /** As for the async backend: `redis://`, `rediss://`, `redis+unix://` or `redis+sentinel://`. */
  readonly url?: string;
  /** How long the first call may wait for the worker thread to start (default 10 000). */
  readonly workerStartTimeout?: number;
  /** How long `clear()` may block, over all its round trips (default 30 000). */
  readonly clearTimeout?: number;
}

/**
 * The Redis backend for `SyncCache` (`redis://`, `rediss://`, `redis+unix://`, `redis+sentinel://`).
 * Node has no synchronous sockets, so a worker thread runs the async Redis backend and each call
 * **blocks the calling thread** (`Atomics.wait`) until the worker answers, at most `timeout` (default
 * 500 ms) plus a few milliseconds. Meant for scripts and CLIs; servers should use the async `Cache`.
 *
 * If the worker stops answering (it crashed or was terminated), the call fails with a `BackendError`
 * and the next call starts a fresh worker. Values come back as bytes. An existing client cannot be
 * passed: clients do not cross threads.
 *
 * @example
 * ```ts
 * const cache = new SyncCache<number>({ backend: "redis://127.0.0.1:6379/0", serializer: "json://" });
 * cache.set("answer", 42);
 * cache.get("answer"); // 42
 * ```
 */
export class RedisBackend extends WorkerThreadBackend {
  /** @throws ConfigurationError for a bad URL or option (never quoting a password). */
  constructor(options: SyncRedisBackendOptions = {}) {
    checkConfiguration(options, {
      what: "the synchronous RedisBackend",
      known: ["url", "workerStartTimeout", "clearTimeout", ...REDIS_TIMING_NAMES],
      example: '{ url: "redis://127.0.0.1:6379/0", timeout: 500 }',
    });
    if ("sendCommand" in options || "callBuffer" in options) {
      throw new ConfigurationError(
        "the synchronous RedisBackend cannot use an existing client (clients do not cross threads): give it a url",
      );
    }
    const urlText = options.url ?? DEFAULT_REDIS_URL;
    // Parse now, so that a bad URL fails here rather than in the worker.
    const url = new CacheUrl(urlText);
    if (url.scheme === "redis+cluster") {
      throw new ConfigurationError("the synchronous RedisBackend does not offer redis+cluster://; use the async Cache");
    }
    const timings = { ...redisSettingsFromUrl(url, url.parametersFor(url.scheme)).timings };
    url.rejectUnreadParameters();
    requireInstalled("redis", `${url.scheme}://`);
    const { workerStartTimeout = 10_000, clearTimeout = 30_000, url: _url, ...overrides } = options;
    const timeout = overrides.timeout ?? timings.timeout;
    checkPositiveIntegers({ ...overrides, timeout, workerStartTimeout, clearTimeout });
    super({
      kind: "redis",
      options: { url: urlText, ...overrides },
      target: "Redis",
      timeout,
      workerStartTimeout,
      clearTimeout,
      capabilities: { bytesOnly: true, atomicBatches: "all" },
    });
  }
}
