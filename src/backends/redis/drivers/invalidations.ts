import type { ChangeListener } from "../../contract.js";

/**
 * Redis's invalidation messages (`CLIENT TRACKING` over RESP3) of one driver's connections, handed to
 * every listener: the keys that changed, or `lost` when something may have gone unseen.
 */
export class Invalidations {
  readonly #listeners = new Set<ChangeListener>();

  /** Starts telling `listener`; returns the function that stops it. */
  listen(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * One invalidation push as node-redis emits it: a key (a string, or bytes for a key that is not UTF-8),
   * or `null` when the server was flushed.
   */
  readonly onInvalidate = (key: unknown): void => {
    if (key === null || key === undefined) this.lost();
    else if (typeof key === "string") this.changed([key]);
    else if (key instanceof Uint8Array)
      this.changed([Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString()]);
    // Anything else is not a key: what it was about is unknown.
    else this.lost();
  };

  /**
   * Tells every listener that `keys` changed: from the server, or from the backend as it sends a write of
   * its own (the server's echo of it comes only after the reply, and only for keys it tracked).
   */
  changed(keys: readonly string[]): void {
    for (const listener of this.#listeners) listener.changed(keys);
  }

  /** Everything read before may be stale: a connection dropped, came back or was replaced. */
  readonly lost = (): void => {
    for (const listener of this.#listeners) listener.lost();
  };
}
