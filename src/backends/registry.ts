import {
  buildFromUrl,
  type RegisterOptions,
  requireNoLocation,
  type SchemeFactory,
  SchemeRegistry,
} from "../internal/scheme-registry.js";
import type { AsyncBackend } from "./contract.js";
import { DummyBackend } from "./dummy/backend.js";
import { MemoryBackend } from "./memory/backend.js";
import { memoryOptionsFromUrl } from "./memory/store.js";
import { RedisBackend, redisSettingsFromUrl } from "./redis/backend.js";

/** Checks a Redis URL (reading its parameters) and builds the backend, which connects on first use. */
const redisFactory: SchemeFactory<AsyncBackend> = (url, parameters) => {
  redisSettingsFromUrl(url, parameters);
  return new RedisBackend({ url: url.raw });
};

/** The built-in async backend schemes. */
const BUILT_IN_BACKENDS: Readonly<Record<string, SchemeFactory<AsyncBackend>>> = {
  /** In-process, bounded LRU with expiry: `memory://?max-entries=10000&max-size=BYTES`. */
  memory: (url, parameters) => new MemoryBackend(memoryOptionsFromUrl(url, parameters)),
  /** Stores nothing: `dummy://`. */
  dummy: (url) => {
    requireNoLocation(url);
    return new DummyBackend();
  },
  /** Redis over TCP: `redis://[user:password@]host:port/db?timeout=500`. */
  redis: redisFactory,
  /** Redis over TLS: `rediss://[user:password@]host:port/db`. */
  rediss: redisFactory,
  /** Redis over a Unix socket: `redis+unix:///run/redis.sock?db=1`. */
  "redis+unix": redisFactory,
  /** Redis Cluster from seed nodes: `redis+cluster://host:7000,host:7001`. */
  "redis+cluster": redisFactory,
};

const registry = new SchemeRegistry<AsyncBackend>("backend", BUILT_IN_BACKENDS);

/**
 * Builds an async backend from a URL; the scheme picks the backend and the rest configures it.
 *
 * @throws ConfigurationError for an unknown scheme (listing the known ones) or a bad parameter.
 * @example
 * ```ts
 * const backend = backends.fromUrl("memory://?max-entries=50000");
 * ```
 */
export function fromUrl(url: string): AsyncBackend {
  return buildFromUrl(registry, url);
}

/**
 * Adds (or, with `{ replace: true }`, replaces) an async backend scheme.
 *
 * @example
 * ```ts
 * registerBackend("tiered", (url, parameters) => new TieredBackend(parameters.text("levels")));
 * const cache = new Cache({ backend: "tiered://?levels=2", serializer: "json://" });
 * ```
 */
export function registerBackend(scheme: string, factory: SchemeFactory<AsyncBackend>, options?: RegisterOptions): void {
  registry.register(scheme, factory, options);
}

/**
 * The registered async backend schemes, sorted.
 *
 * @example
 * ```ts
 * backendSchemes(); // ["dummy", "memory", "redis", "redis+cluster", "redis+unix", "rediss"]
 * ```
 */
export function backendSchemes(): string[] {
  return registry.schemes;
}
