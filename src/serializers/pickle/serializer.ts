import { ConfigurationError } from "../../errors.js";
import { toBytes } from "../../internal/bytes.js";
import { pickle } from "./writer.js";
import { unpickle } from "./reader.js";
import { typedFailure } from "../failure.js";
import type { Serializer, WireValue } from "../contract.js";

/** Options of {@link PickleSerializer}. */
export interface PickleSerializerOptions {
  /** The protocol written, 2–5 (default 4, what Python 3.8–3.13 writes by default); all are read. */
  readonly protocol?: number;
}

/** The pickle protocol written when none is given. */
export const DEFAULT_PICKLE_PROTOCOL = 4;

/**
 * Python's pickle (`pickle://?pickle-protocol=4`), for sharing a cache with Python services that use
 * Python cachetory's default serializer. **Plain data only**, and reading never runs code: `None`,
 * `bool`, `int` (→ `number`, or `bigint` beyond 2^53), `float`, `str`, `bytes` (→ `Uint8Array`),
 * `list`/`tuple` (→ array), `dict` (→ plain object, or `Map` when a key is not a string),
 * `set`/`frozenset` (→ `Set`). Any other opcode or global (classes, `REDUCE` of anything but the
 * builtins protocol 2 uses for bytes and sets) is a `SerializationError` that names it. Protocols 2–5
 * are read; the chosen one is written.
 *
 * @example
 * ```ts
 * const shared = new Cache<Order>({ backend: "redis://cache:6379/0", serializer: "pickle://" });
 * ```
 */
export class PickleSerializer<V = unknown> implements Serializer<V, Uint8Array> {
  /** The protocol this serializer writes. */
  readonly protocol: number;

  /** @throws ConfigurationError for a protocol outside 2–5. */
  constructor(options: PickleSerializerOptions = {}) {
    const protocol = options.protocol ?? DEFAULT_PICKLE_PROTOCOL;
    if (!Number.isInteger(protocol) || protocol < 2 || protocol > 5) {
      throw new ConfigurationError(`pickle-protocol must be an integer 2–5 for pickle://, got ${String(protocol)}`);
    }
    this.protocol = protocol;
  }

  /** @throws SerializationError for values that are not plain data (functions, class instances, `undefined`, cycles). */
  serialize(value: V): Uint8Array {
    try {
      return pickle(value, this.protocol);
    } catch (cause) {
      throw typedFailure("pickle://", "encode", cause);
    }
  }

  /** @throws SerializationError naming the refused opcode or global, or what is malformed and where. */
  deserialize(wire: WireValue): V {
    try {
      return unpickle(toBytes(wire)) as V;
    } catch (cause) {
      throw typedFailure("pickle://", "decode", cause);
    }
  }
}
