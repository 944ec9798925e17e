import { deserialize, serialize } from "node:v8";
import type { Serializer } from "./serializer.js";

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
  serialize(value: V): Uint8Array {
    return serialize(value);
  }

  deserialize(wire: Uint8Array): V {
    if (!(wire instanceof Uint8Array)) throw new TypeError("v8:// can only decode bytes");
    return deserialize(wire) as V;
  }
}
