import {
  buildFromUrl,
  type RegisterOptions,
  type SchemeFactory,
  SchemeRegistry,
} from "../../internal/scheme-registry.js";
import type { BackendRequirements, SyncBackend } from "../contract.js";
import { builtInSchemes } from "../registry.js";
import { DummyBackend } from "../dummy/sync-backend.js";
import { MemoryBackend } from "../memory/sync-backend.js";
import { RedisBackend } from "../redis/sync-backend.js";
import { PostgresBackend } from "../postgres/sync-backend.js";
import { SqliteBackend } from "../sqlite/sync-backend.js";
import { MemcachedBackend } from "../memcached/sync-backend.js";
import { FileBackend } from "../file/sync-backend.js";

/** The same URLs as the async flavour's, but Redis Cluster (calls through a worker thread block). */
const BUILT_IN_SYNC_BACKENDS: Readonly<Record<string, SchemeFactory<SyncBackend, BackendRequirements>>> =
  builtInSchemes<SyncBackend>({
    memory: (options) => new MemoryBackend(options),
    dummy: () => new DummyBackend(),
    redis: (url) => new RedisBackend({ url }),
    postgres: (url) => new PostgresBackend({ url }),
    sqlite: (url) => new SqliteBackend({ url }),
    memcached: (url) => new MemcachedBackend({ url }),
    file: (url) => new FileBackend({ url }),
  });

const registry = new SchemeRegistry<SyncBackend, BackendRequirements>("sync backend", BUILT_IN_SYNC_BACKENDS);

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
  return buildFromUrl(registry, url, {});
}

/**
 * Adds (or, with `{ replace: true }`, replaces) a sync backend scheme.
 *
 * @example
 * ```ts
 * registerBackend("files", (url) => new FileBackend(url.location));
 * ```
 */
export function registerBackend(
  scheme: string,
  factory: SchemeFactory<SyncBackend, BackendRequirements>,
  options?: RegisterOptions,
): void {
  registry.register(scheme, factory, options);
}

/**
 * The registered sync backend schemes, sorted.
 *
 * @example
 * ```ts
 * backendSchemes(); // ["dummy", "memory", "postgres", "postgresql", "redis", …, "sqlite"]
 * ```
 */
export function backendSchemes(): string[] {
  return registry.schemes;
}
