import { ConfigurationError, SerializationError } from "../errors.js";
import { causeMessage } from "../internal/error-kinds.js";
import { quoteKey } from "../internal/quote-key.js";
import type { Serializer } from "../serializers/contract.js";
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
} from "./envelope.js";

/** Returned for a value that did not decode and counts as a miss. */
export const UNDECODABLE: unique symbol = Symbol("cachetory.undecodable");

/**
 * Turns a cache's values into what its backend stores and back, sync and async, with errors that name the
 * key and the serializer, and the `maxValueBytes` cap on what is written.
 */
export class Codec<V> {
  readonly serializer: Serializer<V>;
  /**
   * Who decoded a near tier's entry that has tags (`decodedBy`): this codec too, but the entry's tags'
   * states must still be checked on each hit, while an entry decoded by the codec itself has none.
   */
  readonly taggedOwner: object = Object.freeze({});
  readonly #serializerName: string;
  readonly #maxValueBytes: number;

  /** @throws ConfigurationError for a bad serializer URL or `maxValueBytes`. */
  constructor(serializer: Serializer<V> | string, maxValueBytes: number | undefined) {
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
  }

  /** @throws SerializationError naming the key when the value cannot be encoded or is over `maxValueBytes`. */
  encode(key: string, value: V): unknown {
    let wire: unknown;
    try {
      wire = this.serializer.serialize(value);
    } catch (cause) {
      throw this.#unencodable(key, cause);
    }
    return this.#checkSize(key, needsEscape(wire) ? escapePlain(wire) : wire);
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
      wire = envelope(this.serializer.serialize(value), metadata, asObject);
    } catch (cause) {
      throw this.#unencodable(key, cause);
    }
    return this.#checkSize(key, wire);
  }

  /** As {@link Codec.encodeEntry}, through the serializer's `serializeAsync` when it has one. */
  async encodeEntryAsync(key: string, value: V, metadata: EntryMetadata, asObject = false): Promise<unknown> {
    if (this.serializer.serializeAsync === undefined) return this.encodeEntry(key, value, metadata, asObject);
    let wire: unknown;
    try {
      wire = envelope(await this.serializer.serializeAsync(value), metadata, asObject);
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
    return this.serializer.serializeAsync !== undefined;
  }

  /** As {@link Codec.encode}, through the serializer's `serializeAsync` when it has one. */
  async encodeAsync(key: string, value: V): Promise<unknown> {
    if (this.serializer.serializeAsync === undefined) return this.encode(key, value);
    let wire: unknown;
    try {
      wire = await this.serializer.serializeAsync(value);
    } catch (cause) {
      throw this.#unencodable(key, cause);
    }
    return this.#checkSize(key, needsEscape(wire) ? escapePlain(wire) : wire);
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
      return this.serializer.deserialize(payloadOf(wire));
    } catch (cause) {
      throw this.#undecodable(key, cause);
    }
  }

  /** As {@link Codec.decode}, through the serializer's `deserializeAsync` when it has one. */
  async decodeAsync(key: string, wire: unknown): Promise<V> {
    if (this.serializer.deserializeAsync === undefined) return this.decode(key, wire);
    try {
      return await this.serializer.deserializeAsync(payloadOf(wire));
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
      const { payload, metadata } = openEnvelope(wire);
      return { value: this.serializer.deserialize(payload), metadata };
    } catch (cause) {
      throw this.#undecodable(key, cause);
    }
  }

  /** As {@link Codec.decodeEntry}, through the serializer's `deserializeAsync` when it has one. */
  async decodeEntryAsync(key: string, wire: unknown): Promise<{ value: V; metadata: EntryMetadata }> {
    if (this.serializer.deserializeAsync === undefined) return this.decodeEntry(key, wire);
    try {
      const { payload, metadata } = openEnvelope(wire);
      return { value: await this.serializer.deserializeAsync(payload), metadata };
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
  decodeUnlessTagged(wire: unknown): V | typeof UNDECODABLE | typeof TAGGED {
    try {
      const payload = payloadUnlessTagged(wire);
      return payload === TAGGED ? TAGGED : this.serializer.deserialize(payload);
    } catch {
      return UNDECODABLE;
    }
  }

  /** Decodes, answering {@link UNDECODABLE} instead of throwing (the caller then takes the reporting path). */
  decodeQuietly(wire: unknown): V | typeof UNDECODABLE {
    try {
      return this.serializer.deserialize(payloadOf(wire));
    } catch {
      return UNDECODABLE;
    }
  }
}
