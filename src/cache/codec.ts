import { ConfigurationError, SerializationError } from "../errors.js";
import { causeMessage } from "../internal/error-kinds.js";
import { quoteKey } from "../internal/quote-key.js";
import { describeType } from "../internal/bytes.js";
import type { EntrySeal, Serializer } from "../serializers/contract.js";
import { fromUrl as serializerFromUrl } from "../serializers/registry.js";
import {
  type EntryMetadata,
  envelope,
  escapePlain,
  hasTags,
  needsEscape,
  openEnvelope,
  payloadOf,
  payloadUnlessTagged,
  TAGGED,
  unsealed,
} from "./envelope.js";

/** Returned for a value that did not decode and counts as a miss. */
export const UNDECODABLE: unique symbol = Symbol("cachetory.undecodable");

/**
 * Turns a cache's values into what its backend stores and back, sync and async, with errors that name the
 * key and the serializer, and the `maxValueBytes` cap on what is written.
 */
export class Codec<V> {
  /** The serializer as configured (an integrity layer included). */
  readonly serializer: Serializer<V>;
  /**
   * Who decoded a near tier's entry that has tags (`decodedBy`): this codec too, but the entry's tags'
   * states must still be checked on each hit, while an entry decoded by the codec itself has none.
   */
  readonly taggedOwner: object = Object.freeze({});
  readonly #serializerName: string;
  readonly #maxValueBytes: number;
  /** What turns values into bytes: the serializer, or, when it ends in an integrity layer, the chain before it. */
  readonly #inner: Serializer<V>;
  /** The integrity layer that seals each stored entry as a whole, bound to its backend key. */
  readonly #seal: EntrySeal | undefined;
  /** The cache's prefix: a seal binds the backend key, so that a value copied to another key (or namespace) fails. */
  readonly #prefix: string;

  /** @throws ConfigurationError for a bad serializer URL or `maxValueBytes`. */
  constructor(serializer: Serializer<V> | string, maxValueBytes: number | undefined, prefix = "") {
    const limit = maxValueBytes ?? Number.POSITIVE_INFINITY;
    if (!(limit >= 1) || (Number.isFinite(limit) && !Number.isSafeInteger(limit))) {
      throw new ConfigurationError(`maxValueBytes must be a positive integer, got ${String(maxValueBytes)}`);
    }
    this.#maxValueBytes = limit;
    if (typeof serializer === "string") {
      this.serializer = serializerFromUrl<V>(serializer);
      this.#serializerName = serializer.split("?")[0] ?? serializer;
    } else {
      this.serializer = serializer;
      this.#serializerName = serializer.constructor.name;
    }
    this.#inner = this.serializer.sealing?.inner ?? this.serializer;
    this.#seal = this.serializer.sealing?.seal;
    this.#prefix = prefix;
  }

  /** `wire` sealed for `key` when the serializer ends in an integrity layer. */
  #withSeal(key: string, wire: unknown): unknown {
    return this.#seal === undefined ? wire : this.#seal.seal(wire as Uint8Array | string, this.#prefix + key);
  }

  /** Whether stored entries carry a seal (the serializer ends in an integrity layer). */
  get sealed(): boolean {
    return this.#seal !== undefined;
  }

  /** The error of a stored value whose seal does not hold, if it has one that does not. */
  sealFailure(key: string, wire: unknown): SerializationError | undefined {
    if (this.#seal === undefined) return undefined;
    try {
      this.#opened(key, wire);
      return undefined;
    } catch (cause) {
      return this.#undecodable(key, cause);
    }
  }

  /** What the serializer made of a value, checked to be something a seal can cover. */
  #sealable(serialized: unknown): unknown {
    if (this.#seal !== undefined && typeof serialized !== "string" && !(serialized instanceof Uint8Array)) {
      const { scheme } = this.#seal;
      throw new TypeError(
        `${scheme} seals text or bytes, and got ${describeType(serialized)}: put a serializer before it, as in json+${scheme}`,
      );
    }
    return serialized;
  }

  /** `wire` with its seal checked and taken off, when the serializer has one. */
  #opened(key: string, wire: unknown): unknown {
    const seal = this.#seal;
    return seal === undefined ? wire : unsealed(wire, (bytes) => seal.open(bytes, this.#prefix + key));
  }

  /** @throws SerializationError naming the key when the value cannot be encoded or is over `maxValueBytes`. */
  encode(key: string, value: V): unknown {
    let wire: unknown;
    try {
      wire = this.#sealable(this.#inner.serialize(value));
      if (needsEscape(wire)) wire = escapePlain(wire);
      wire = this.#withSeal(key, wire);
    } catch (cause) {
      throw this.#unencodable(key, cause);
    }
    return this.#checkSize(key, wire);
  }

  /**
   * Encodes `value` in an envelope with its metadata (see envelope.ts): as bytes, or with `asObject` (a
   * backend that stores any value) as an object that costs no copy and no parsing.
   *
   * @throws SerializationError naming the key when the value cannot be encoded or is over `maxValueBytes`.
   */
  encodeEntry(key: string, value: V, metadata: EntryMetadata, asObject = false): unknown {
    let wire: unknown;
    try {
      wire = this.#withSeal(
        key,
        envelope(this.#sealable(this.#inner.serialize(value)), metadata, asObject && this.#seal === undefined),
      );
    } catch (cause) {
      throw this.#unencodable(key, cause);
    }
    return this.#checkSize(key, wire);
  }

  /** As {@link Codec.encodeEntry}, through the serializer's `serializeAsync` when it has one. */
  async encodeEntryAsync(key: string, value: V, metadata: EntryMetadata, asObject = false): Promise<unknown> {
    const inner = this.#inner;
    if (inner.serializeAsync === undefined) return this.encodeEntry(key, value, metadata, asObject);
    let wire: unknown;
    try {
      const serialized = this.#sealable(await inner.serializeAsync(value));
      wire = this.#withSeal(key, envelope(serialized, metadata, asObject && this.#seal === undefined));
    } catch (cause) {
      throw this.#unencodable(key, cause);
    }
    return this.#checkSize(key, wire);
  }

  /** What a near tier's entry holding `wire` records as its decoder (see {@link Codec.taggedOwner}). */
  ownerFor(wire: unknown): object {
    return hasTags(wire) ? this.taggedOwner : this;
  }

  /** Whether the serializer can work off the event loop (a chain with a compressor). */
  get serializesAsync(): boolean {
    return this.#inner.serializeAsync !== undefined;
  }

  /** As {@link Codec.encode}, through the serializer's `serializeAsync` when it has one. */
  async encodeAsync(key: string, value: V): Promise<unknown> {
    const inner = this.#inner;
    if (inner.serializeAsync === undefined) return this.encode(key, value);
    let wire: unknown;
    try {
      wire = this.#sealable(await inner.serializeAsync(value));
      if (needsEscape(wire)) wire = escapePlain(wire);
      wire = this.#withSeal(key, wire);
    } catch (cause) {
      throw this.#unencodable(key, cause);
    }
    return this.#checkSize(key, wire);
  }

  #unencodable(key: string, cause: unknown): SerializationError {
    return new SerializationError(
      `cannot serialize the value of key ${quoteKey(key)} with ${this.#serializerName}: ${causeMessage(cause)}`,
      { key, cause },
    );
  }

  #checkSize(key: string, wire: unknown): unknown {
    if (this.#maxValueBytes !== Number.POSITIVE_INFINITY) {
      const size =
        typeof wire === "string" ? Buffer.byteLength(wire) : wire instanceof Uint8Array ? wire.byteLength : 0;
      if (size > this.#maxValueBytes) {
        throw new SerializationError(
          `the value of key ${quoteKey(key)} is ${String(size)} bytes serialized, over maxValueBytes (${String(this.#maxValueBytes)}); nothing was written`,
          { key },
        );
      }
    }
    return wire;
  }

  /** @throws SerializationError naming the key when the stored value does not decode. */
  decode(key: string, wire: unknown): V {
    try {
      return this.#inner.deserialize(payloadOf(this.#opened(key, wire)));
    } catch (cause) {
      throw this.#undecodable(key, cause);
    }
  }

  /** As {@link Codec.decode}, through the serializer's `deserializeAsync` when it has one. */
  async decodeAsync(key: string, wire: unknown): Promise<V> {
    const inner = this.#inner;
    if (inner.deserializeAsync === undefined) return this.decode(key, wire);
    try {
      return await inner.deserializeAsync(payloadOf(this.#opened(key, wire)));
    } catch (cause) {
      throw this.#undecodable(key, cause);
    }
  }

  /**
   * The value inside `wire` and its metadata (none, for a plain value: fresh as long as it is stored).
   *
   * @throws SerializationError naming the key when the stored value does not decode.
   */
  decodeEntry(key: string, wire: unknown): { value: V; metadata: EntryMetadata } {
    try {
      const { payload, metadata } = openEnvelope(this.#opened(key, wire));
      return { value: this.#inner.deserialize(payload), metadata };
    } catch (cause) {
      throw this.#undecodable(key, cause);
    }
  }

  /** As {@link Codec.decodeEntry}, through the serializer's `deserializeAsync` when it has one. */
  async decodeEntryAsync(key: string, wire: unknown): Promise<{ value: V; metadata: EntryMetadata }> {
    const inner = this.#inner;
    if (inner.deserializeAsync === undefined) return this.decodeEntry(key, wire);
    try {
      const { payload, metadata } = openEnvelope(this.#opened(key, wire));
      return { value: await inner.deserializeAsync(payload), metadata };
    } catch (cause) {
      throw this.#undecodable(key, cause);
    }
  }

  #undecodable(key: string, cause: unknown): SerializationError {
    return new SerializationError(
      `cannot deserialize the stored value of key ${quoteKey(key)} with ${this.#serializerName}: ${causeMessage(cause)}`,
      { key, cause },
    );
  }

  /**
   * {@link Codec.decodeQuietly} for a value not yet checked against its tags' states: {@link TAGGED} for
   * an entry with tags (which the caller checks, then decodes), with no cost for the others.
   */
  decodeUnlessTagged(key: string, wire: unknown): V | typeof UNDECODABLE | typeof TAGGED {
    try {
      // A sealed value's payload comes after its seal is opened, in decode.
      if (this.#seal !== undefined) return hasTags(wire) ? TAGGED : this.decode(key, wire);
      const payload = payloadUnlessTagged(wire);
      return payload === TAGGED ? TAGGED : this.#inner.deserialize(payload);
    } catch {
      return UNDECODABLE;
    }
  }

  /** Decodes, answering {@link UNDECODABLE} instead of throwing (the caller then takes the reporting path). */
  decodeQuietly(key: string, wire: unknown): V | typeof UNDECODABLE {
    try {
      return this.#inner.deserialize(payloadOf(this.#opened(key, wire)));
    } catch {
      return UNDECODABLE;
    }
  }
}
