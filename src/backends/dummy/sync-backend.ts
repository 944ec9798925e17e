import type { BackendScanOptions, BackendScanPage, BackendSetOptions, SyncBackend } from "../contract.js";

/**
 * The synchronous backend that stores nothing (`dummy://`): every write succeeds and is forgotten at
 * once, every read misses. Use it to switch caching off without touching the code that uses the cache.
 *
 * @example
 * ```ts
 * const cache = new SyncCache({ backend: new DummyBackend(), serializer: "noop://" });
 * cache.set("a", 1); // true
 * cache.get("a");    // undefined
 * ```
 */
export class DummyBackend implements SyncBackend {
  get(_key: string): undefined {
    return undefined;
  }

  getMany(_keys: readonly string[]): Map<string, unknown> {
    return new Map<string, unknown>();
  }

  set(_key: string, _value: unknown, _options: BackendSetOptions): boolean {
    return true;
  }

  setMany(_entries: readonly (readonly [string, unknown])[], _timeToLive: number | undefined): void {
    // Nothing is kept.
  }

  expireIn(_key: string, _timeToLive: number | undefined): boolean {
    return false;
  }

  delete(_key: string): boolean {
    return false;
  }

  deleteMany(_keys: readonly string[]): number {
    return 0;
  }

  has(_key: string): boolean {
    return false;
  }

  ttl(_key: string): undefined {
    return undefined;
  }

  scan(_cursor: string, _options: BackendScanOptions): BackendScanPage {
    return { keys: [], cursor: "0" };
  }

  clear(_prefix: string): void {
    // Nothing is kept.
  }

  close(): void {
    // Nothing to release.
  }
}
