import { deserialize, serialize } from "node:v8";
import { typedFailure } from "./failure.js";
import type { Serializer } from "./contract.js";

/**
 * Node's structured-clone format (`v8://`): keeps `Date`, `Map`, `Set`, `BigInt`, typed arrays,
 * `undefined` and cycles. Node-only, and tied to the V8 serialization version: use it only for
 * stores that only your own Node processes write (trusted stores only), never for data others write.
 *
 * @example
 * ```ts
 * const cache = new Cache<Map<string, Date>>({ backend: "memory://", serializer: "v8://" });
 * ```
 */
export class V8Serializer<V = unknown> implements Serializer<V, Uint8Array> {
  /** @throws SerializationError for what structured clone cannot copy (functions, symbols). */
  serialize(value: V): Uint8Array {
    try {
      return serialize(value);
    } catch (cause) {
      throw typedFailure("v8://", "encode", cause);
    }
  }

  /** @throws SerializationError for anything but valid structured-clone bytes. */
  deserialize(wire: Uint8Array): V {
    if (!(wire instanceof Uint8Array)) throw typedFailure("v8://", "decode", "it decodes bytes only");
    try {
      return deserialize(wire) as V;
    } catch (cause) {
      throw typedFailure("v8://", "decode", cause);
    }
  }
}
