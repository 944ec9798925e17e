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
  /**
   * Optional, declared by a serializer that ends in an integrity layer (`checksum://`, `hmac://`): a
   * cache then runs `sealing.inner` and seals what it stores with `sealing.seal`, over the whole entry
   * (its metadata and tags included) and bound to the backend key, instead of running the layer as one
   * step of the chain.
   */
  readonly sealing?: Sealing<V>;
}

/**
 * How a cache seals what it stores: what to serialize with first, and the seal of the bytes.
 *
 * @example
 * ```ts
 * const { inner, seal } = serializers.fromUrl("json+checksum://").sealing!;
 * seal.open(seal.seal(Buffer.from(inner.serialize({ id: 1 }) as string), "user:1"), "user:1");
 * ```
 */
export interface Sealing<V = unknown> {
  /** The serializer whose output is sealed: the chain before the integrity layer. */
  readonly inner: Serializer<V>;
  /** The integrity layer. */
  readonly seal: EntrySeal;
}

/**
 * An integrity check appended to stored bytes and verified on the way out. What the check is (a CRC, an
 * HMAC and its keys) is fixed by configuration: nothing in the stored bytes chooses it.
 *
 * @example
 * ```ts
 * const seal = new ChecksumSerializer();
 * const stored = seal.seal(Buffer.from("hello"), "greeting");
 * seal.open(stored, "greeting"); // the 5 bytes of "hello"
 * seal.open(stored, "another key"); // throws SerializationError
 * ```
 */
export interface EntrySeal {
  /** The scheme, for messages (`"checksum://"`). */
  readonly scheme: string;
  /** The bytes of `data` (text as UTF-8) followed by their seal, bound to `key` (the backend key). */
  seal(data: Uint8Array | string, key: string): Uint8Array;
  /**
   * `bytes` without their seal, once it is checked against `key`.
   *
   * @throws SerializationError when the seal is missing or does not match.
   */
  open(bytes: Uint8Array, key: string): Uint8Array;
}
