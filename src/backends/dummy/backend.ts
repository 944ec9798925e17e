import { SyncBackendAdapter } from "../sync-adapter.js";
import { DummyBackend as SyncDummyBackend } from "./sync-backend.js";

/**
 * The backend that stores nothing (`dummy://`) for the async `Cache`: writes succeed and are
 * forgotten, reads miss. Use it to switch caching off by configuration.
 *
 * @example
 * ```ts
 * const cache = new Cache({ backend: process.env.CACHE_URL ?? "dummy://", serializer: "json://" });
 * ```
 */
export class DummyBackend extends SyncBackendAdapter {
  constructor() {
    super(new SyncDummyBackend());
  }
}
