import {
  buildFromUrl,
  type RegisterOptions,
  requireNoLocation,
  type SchemeFactory,
  SchemeRegistry,
} from "../internal/scheme-registry.js";
import type { AsyncBackend, BackendRequirements } from "./contract.js";
import { DummyBackend } from "./dummy/backend.js";
import { MemoryBackend } from "./memory/backend.js";
import { type MemoryBackendOptions, memoryOptionsFromUrl } from "./memory/store.js";
import { RedisBackend, redisSettingsFromUrl } from "./redis/backend.js";
import { PostgresBackend } from "./postgres/backend.js";
import { postgresSettingsFromUrl } from "./postgres/url.js";
import { MemcachedBackend } from "./memcached/backend.js";
import { memcachedSettingsFromUrl } from "./memcached/url.js";
import { SqliteBackend } from "./sqlite/backend.js";
import { sqliteSettingsFromUrl } from "./sqlite/url.js";
import { FileBackend } from "./file/backend.js";
import { fileSettingsFromUrl } from "./file/url.js";

/** How one flavour builds each built-in backend. */
export interface BuiltInBackends<B> {
  readonly memory: (options: MemoryBackendOptions) => B;
  readonly dummy: () => B;
  /** From a Redis URL already checked; the backend connects (or starts its worker) on first use. */
  readonly redis: (url: string, requirements: BackendRequirements) => B;
  /** From a PostgreSQL URL already checked; the backend connects (or starts its worker) on first use. */
  readonly postgres: (url: string) => B;
  /** From a SQLite URL already checked. */
  readonly sqlite: (url: string) => B;
  /** From a memcached URL already checked; the backend connects (or starts its worker) on first use. */
  readonly memcached: (url: string) => B;
  /** From a file URL already checked. */
  readonly file: (url: string) => B;
}

/**
 * The built-in schemes of one flavour (async or sync): the same URLs and parameters for both, so that a
 * URL means the same backend whichever cache reads it.
 */
export function builtInSchemes<B>(
  build: BuiltInBackends<B>,
): Record<
  | "memory"
  | "dummy"
  | "redis"
  | "rediss"
  | "redis+unix"
  | "redis+sentinel"
  | "postgres"
  | "postgresql"
  | "sqlite"
  | "memcached"
  | "file",
  SchemeFactory<B, BackendRequirements>
> {
  /** Checks a Redis URL (reading its parameters) before the backend is built. */
  const redis: SchemeFactory<B, BackendRequirements> = (url, parameters, requirements) => {
    redisSettingsFromUrl(url, parameters);
    return build.redis(url.raw, requirements);
  };
  /** Checks a PostgreSQL URL (reading its parameters) before the backend is built. */
  const postgres: SchemeFactory<B, BackendRequirements> = (url, parameters) => {
    postgresSettingsFromUrl(url, parameters);
    return build.postgres(url.raw);
  };
  /** Checks a SQLite URL (reading its parameters) before the backend is built. */
  const sqlite: SchemeFactory<B, BackendRequirements> = (url, parameters) => {
    sqliteSettingsFromUrl(url, parameters);
    return build.sqlite(url.raw);
  };
  /** Checks a memcached URL (reading its parameters) before the backend is built. */
  const memcached: SchemeFactory<B, BackendRequirements> = (url, parameters) => {
    memcachedSettingsFromUrl(url, parameters);
    return build.memcached(url.raw);
  };
  /** Checks a file URL (reading its parameters) before the backend is built. */
  const file: SchemeFactory<B, BackendRequirements> = (url, parameters) => {
    fileSettingsFromUrl(url, parameters);
    return build.file(url.raw);
  };
  return {
    /** In-process, bounded LRU with expiry: `memory://?max-entries=10000&max-size=BYTES`. */
    memory: (url, parameters) => build.memory(memoryOptionsFromUrl(url, parameters)),
    /** Stores nothing: `dummy://`. */
    dummy: (url) => {
      requireNoLocation(url);
      return build.dummy();
    },
    /** Redis over TCP: `redis://[user:password@]host:port/db?timeout=500`. */
    redis,
    /** Redis over TLS: `rediss://[user:password@]host:port/db`. */
    rediss: redis,
    /** Redis over a Unix socket: `redis+unix:///run/redis.sock?db=1`. */
    "redis+unix": redis,
    /** The master its sentinels name, followed through failovers: `redis+sentinel://host:26379,host:26380/mymaster?db=0`. */
    "redis+sentinel": redis,
    /** PostgreSQL, one table: `postgres://user:password@host:5432/database?table=cachetory_cache`. */
    postgres,
    /** The same as `postgres://`. */
    postgresql: postgres,
    /** SQLite, one table in a file: `sqlite:///var/cache/app/cache.db?table=cachetory_cache`, or `sqlite://:memory:`. */
    sqlite,
    /** memcached, keys placed by ketama over the servers: `memcached://host:11211,host:11212?namespace=app`. */
    memcached,
    /** One file per entry under a directory, kept under a size: `file:///var/cache/app?max-size=1000000000`. */
    file,
  };
}

const SHARED_SCHEMES = builtInSchemes<AsyncBackend>({
  memory: (options) => new MemoryBackend(options),
  dummy: () => new DummyBackend(),
  redis: (url, { changeNotifications }) => new RedisBackend({ url, notifyChanges: changeNotifications === true }),
  postgres: (url) => new PostgresBackend({ url }),
  sqlite: (url) => new SqliteBackend({ url }),
  memcached: (url) => new MemcachedBackend({ url }),
  file: (url) => new FileBackend({ url }),
});

const BUILT_IN_BACKENDS: Readonly<Record<string, SchemeFactory<AsyncBackend, BackendRequirements>>> = {
  ...SHARED_SCHEMES,
  /** Redis Cluster from seed nodes: `redis+cluster://host:7000,host:7001` (async only; the same factory). */
  "redis+cluster": SHARED_SCHEMES.redis,
};

const registry = new SchemeRegistry<AsyncBackend, BackendRequirements>("backend", BUILT_IN_BACKENDS);

/**
 * Builds an async backend from a URL; the scheme picks the backend and the rest configures it.
 * `requirements` tells the scheme's factory what the cache will need of it.
 *
 * @throws ConfigurationError for an unknown scheme (listing the known ones) or a bad parameter.
 * @example
 * ```ts
 * const backend = backends.fromUrl("memory://?max-entries=50000");
 * ```
 */
export function fromUrl(url: string, requirements: BackendRequirements = {}): AsyncBackend {
  return buildFromUrl(registry, url, requirements);
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
export function registerBackend(
  scheme: string,
  factory: SchemeFactory<AsyncBackend, BackendRequirements>,
  options?: RegisterOptions,
): void {
  registry.register(scheme, factory, options);
}

/**
 * The registered async backend schemes, sorted.
 *
 * @example
 * ```ts
 * backendSchemes(); // ["dummy", "memory", "postgres", "postgresql", "redis", "redis+cluster", …, "sqlite"]
 * ```
 */
export function backendSchemes(): string[] {
  return registry.schemes;
}
