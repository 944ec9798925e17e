/**
 * What a serializer hands to a backend: text or bytes for the remote stores, anything at all for the
 * memory backend with `noop://`.
 */
export type WireValue = string | Uint8Array;

/**
 * Turns cache values into what a backend stores and back. Serializers and compressors share this
 * contract, so that `msgpack+zstd://` is just two serializers applied in turn.
 *
 * Writing your own:
 * - `serialize` may throw anything; the cache wraps it in a `SerializationError` that names the key. The
 *   built-ins, called directly, throw `SerializationError` themselves (sync and async), the original as `cause`.
 * - `deserialize` receives what the backend returns, which for remote backends is bytes even when
 *   `serialize` produced a string; accept both.
 * - Do not mutate the input. Do not keep state between calls that a concurrent call could observe.
 * - Register a scheme with `registerSerializer("name", (url, parameters) => new MySerializer(…))`.
 *
 * @typeParam V - The value type on the cache side.
 * @typeParam W - The wire type on the backend side.
 * @example
 * ```ts
 * const upperCase: Serializer<string, string> = {
 *   serialize: (value) => value.toUpperCase(),
 *   deserialize: (wire) => String(wire).toLowerCase(),
 * };
 * ```
 */
export interface Serializer<V = unknown, W = unknown> {
  /** Encodes `value` for the backend. */
  serialize(value: V): W;
  /** Decodes what the backend returned. */
  deserialize(wire: W): V;
  /**
   * Optional: `serialize` that may run off the event loop (the compressors move large inputs to the
   * thread pool). The async `Cache` prefers it; the `SyncCache` never calls it.
   */
  serializeAsync?(value: V): Promise<W>;
  /** Optional: `deserialize` that may run off the event loop, as {@link Serializer.serializeAsync}. */
  deserializeAsync?(wire: W): Promise<V>;
}
