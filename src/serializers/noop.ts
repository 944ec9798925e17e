import type { Serializer } from "./serializer.js";

/**
 * Passes values through untouched (`noop://`, `null://`). Only the memory backend can store arbitrary
 * values; it then keeps references, so mutating a stored object mutates the cached one.
 *
 * @example
 * ```ts
 * const cache = new Cache<User>({ backend: "memory://", serializer: new NoopSerializer() });
 * ```
 */
export class NoopSerializer<V = unknown> implements Serializer<V, V> {
  serialize(value: V): V {
    return value;
  }

  deserialize(wire: V): V {
    return wire;
  }
}
