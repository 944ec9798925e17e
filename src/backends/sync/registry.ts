import {
  buildFromUrl,
  type RegisterOptions,
  requireNoLocation,
  type SchemeFactory,
  SchemeRegistry,
} from "../../internal/scheme-registry.js";
import type { SyncBackend } from "../contract.js";
import { memoryOptionsFromUrl } from "../memory/store.js";
import { redisSettingsFromUrl } from "../redis/backend.js";
import { DummyBackend } from "../dummy/sync-backend.js";
import { MemoryBackend } from "../memory/sync-backend.js";
import { RedisBackend } from "../redis/sync/backend.js";

/** Builds the worker-backed Redis backend; it checks the URL itself and starts its worker on first use. */
const redisFactory: SchemeFactory<SyncBackend> = (url, parameters) => {
  redisSettingsFromUrl(url, parameters);
  return new RedisBackend({ url: url.raw });
};

/** The built-in sync backend schemes. */
const BUILT_IN_SYNC_BACKENDS: Readonly<Record<string, SchemeFactory<SyncBackend>>> = {
  /** In-process, bounded LRU with expiry: `memory://?max-entries=10000&max-size=BYTES`. */
  memory: (url, parameters) => new MemoryBackend(memoryOptionsFromUrl(url, parameters)),
  /** Stores nothing: `dummy://`. */
  dummy: (url) => {
    requireNoLocation(url);
    return new DummyBackend();
  },
  /** Redis over TCP through a worker thread (calls block): `redis://host:port/db?timeout=500`. */
  redis: redisFactory,
  /** Redis over TLS through a worker thread: `rediss://host:port/db`. */
  rediss: redisFactory,
  /** Redis over a Unix socket through a worker thread: `redis+unix:///run/redis.sock?db=1`. */
  "redis+unix": redisFactory,
};

const registry = new SchemeRegistry<SyncBackend>("sync backend", BUILT_IN_SYNC_BACKENDS);

/**
 * Builds a sync backend from a URL; the scheme picks the backend and the rest configures it.
 *
 * @throws ConfigurationError for an unknown scheme (listing the known ones) or a bad parameter.
 * @example
 * ```ts
 * const backend = syncBackends.fromUrl("memory://?max-entries=50000");
 * ```
 */
export function fromUrl(url: string): SyncBackend {
  return buildFromUrl(registry, url);
}

/**
 * Adds (or, with `{ replace: true }`, replaces) a sync backend scheme.
 *
 * @example
 * ```ts
 * registerBackend("files", (url) => new FileBackend(url.location));
 * ```
 */
export function registerBackend(scheme: string, factory: SchemeFactory<SyncBackend>, options?: RegisterOptions): void {
  registry.register(scheme, factory, options);
}

/**
 * The registered sync backend schemes, sorted.
 *
 * @example
 * ```ts
 * backendSchemes(); // ["dummy", "memory", "redis", "redis+unix", "rediss"]
 * ```
 */
export function backendSchemes(): string[] {
  return registry.schemes;
}
