/** An in-process async backend for testing layers: it records each call and answers when the test says. */
import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
  SyncBackend,
} from "../../src/backends/contract.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { MemoryBackend } from "../../src/backends/memory/sync-backend.js";

/** A call the backend received, with the means to answer it. */
export interface ReceivedCall {
  readonly operation: string;
  readonly args: readonly unknown[];
}

/**
 * A store behind the async contract (a third party's, as the cache sees it) whose calls are recorded;
 * `hold()` makes later calls wait until `release()` (a server that hangs), `failNext(error)` makes the next
 * call of an operation fail. It declares the capabilities it is given, and none by default.
 */
export class ScriptedBackend implements AsyncBackend {
  readonly calls: ReceivedCall[] = [];
  readonly #store: SyncBackendAdapter;
  readonly capabilities: BackendCapabilities | undefined;

  constructor(store: SyncBackend = new MemoryBackend(), capabilities?: BackendCapabilities) {
    this.#store = new SyncBackendAdapter(store);
    this.capabilities = capabilities;
  }
  #held: (() => void)[] | undefined;
  readonly #failures = new Map<string, Error[]>();

  hold(): void {
    this.#held ??= [];
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const resume of held) resume();
  }

  failNext(operation: string, error: Error): void {
    const queue = this.#failures.get(operation) ?? [];
    queue.push(error);
    this.#failures.set(operation, queue);
  }

  async #call<T>(operation: string, args: readonly unknown[], run: () => Promise<T>): Promise<T> {
    this.calls.push({ operation, args });
    if (this.#held !== undefined) await new Promise<void>((resume) => this.#held?.push(resume));
    const failure = this.#failures.get(operation)?.shift();
    if (failure !== undefined) throw failure;
    return run();
  }

  get(key: string): Promise<unknown> {
    return this.#call("get", [key], () => this.#store.get(key));
  }
  getMany(keys: readonly string[]): Promise<Map<string, unknown>> {
    return this.#call("getMany", [keys], () => this.#store.getMany(keys));
  }
  set(key: string, value: unknown, options: BackendSetOptions): Promise<boolean> {
    return this.#call("set", [key, value], () => this.#store.set(key, value, options));
  }
  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): Promise<void> {
    return this.#call("setMany", [entries], () => this.#store.setMany(entries, timeToLive));
  }
  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return this.#call("expireIn", [key], () => this.#store.expireIn(key, timeToLive));
  }
  delete(key: string): Promise<boolean> {
    return this.#call("delete", [key], () => this.#store.delete(key));
  }
  deleteMany(keys: readonly string[]): Promise<number> {
    return this.#call("deleteMany", [keys], () => this.#store.deleteMany(keys));
  }
  has(key: string): Promise<boolean> {
    return this.#call("has", [key], () => this.#store.has(key));
  }
  clear(prefix: string): Promise<void> {
    return this.#call("clear", [prefix], () => this.#store.clear(prefix));
  }
  ttl(key: string): Promise<number | null | undefined> {
    return this.#call("ttl", [key], () => this.#store.ttl(key));
  }
  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    return this.#call("scan", [cursor, options], () => this.#store.scan(cursor, options));
  }
  close(): Promise<void> {
    return this.#store.close();
  }
}
