import {
  buildFromUrl,
  type RegisterOptions,
  requireNoLocation,
  type SchemeFactory,
  SchemeRegistry,
} from "../../internal/scheme-registry.js";
import type { SyncBackend } from "../backend.js";
import { memoryOptionsFromUrl } from "../memory-store.js";
import { DummyBackend } from "./dummy.js";
import { MemoryBackend } from "./memory.js";

/** The built-in sync backend schemes. */
const BUILT_IN_SYNC_BACKENDS: Readonly<Record<string, SchemeFactory<SyncBackend>>> = {
  /** In-process, bounded LRU with expiry: `memory://?max-entries=10000&max-size=BYTES`. */
  memory: (url, parameters) => new MemoryBackend(memoryOptionsFromUrl(url, parameters)),
  /** Stores nothing: `dummy://`. */
  dummy: (url) => {
    requireNoLocation(url);
    return new DummyBackend();
  },
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
 * backendSchemes(); // ["dummy", "memory"]
 * ```
 */
export function backendSchemes(): string[] {
  return registry.schemes;
}
