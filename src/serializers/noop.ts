import type { Serializer } from "./contract.js";

/**
 * How `undefined` travels through {@link NoopSerializer}: backends read an `undefined` wire value as
 * "absent", so a stored `undefined` (a memoized function's result, say) is kept as this marker instead.
 */
const STORED_UNDEFINED: unique symbol = Symbol("cachetory.stored-undefined");

/**
 * Passes values through untouched (`noop://`, `null://`). Only the memory backend can store arbitrary
 * values; it then keeps references, so mutating a stored object mutates the cached one. `undefined` is
 * stored as a marker, so that it is told apart from a miss.
 *
 * @example
 * ```ts
 * const cache = new Cache<User>({ backend: "memory://", serializer: new NoopSerializer() });
 * ```
 */
export class NoopSerializer<V = unknown> implements Serializer<V, V | typeof STORED_UNDEFINED> {
  serialize(value: V): V | typeof STORED_UNDEFINED {
    return value === undefined ? STORED_UNDEFINED : value;
  }

  deserialize(wire: V | typeof STORED_UNDEFINED): V {
    return wire === STORED_UNDEFINED ? (undefined as V) : wire;
  }
}
