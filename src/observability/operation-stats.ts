/** What a cache counts of its reads and writes, by key (a `getMany` of 3 keys with 2 present: 2 hits, 1 miss). */
export interface OperationCounts {
  /** Keys read and found (fresh or stale), in any tier. */
  readonly hits: number;
  /** Keys read and not found (absent, expired, gone by a tag, undecodable, or a failed read answered as a miss). */
  readonly misses: number;
  /** Hits answered by the near tier, with no I/O. */
  readonly nearHits: number;
  /** Hits answered by the backend (an in-process store's included). */
  readonly backendHits: number;
  /** Keys sent to be written (`set`, `setMany`, what `getOrSet` stores), failed ones included (also in `failedWrites`). */
  readonly writes: number;
  /** Keys deleted by `delete` and `deleteMany` (whether they were present or not). */
  readonly deletes: number;
  /** `hits / (hits + misses)`, 0 before the first read. */
  readonly hitRatio: number;
}

/**
 * The counters behind {@link OperationCounts}: plain numbers incremented on the paths that know the
 * outcome, so reading them is free and counting costs an increment.
 */
export class OperationStats {
  hits = 0;
  misses = 0;
  nearHits = 0;
  writes = 0;
  deletes = 0;

  /** A snapshot, as `cache.stats` shows it. */
  get counts(): OperationCounts {
    const reads = this.hits + this.misses;
    return {
      hits: this.hits,
      misses: this.misses,
      nearHits: this.nearHits,
      backendHits: this.hits - this.nearHits,
      writes: this.writes,
      deletes: this.deletes,
      hitRatio: reads === 0 ? 0 : this.hits / reads,
    };
  }

  /** Back to zero. */
  reset(): void {
    this.hits = 0;
    this.misses = 0;
    this.nearHits = 0;
    this.writes = 0;
    this.deletes = 0;
  }
}
