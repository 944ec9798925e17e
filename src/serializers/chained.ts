import type { Serializer } from "./serializer.js";

/**
 * Applies several serializers in turn: left to right on `serialize`, right to left on `deserialize`.
 * This is what a `+` in a serializer URL builds: `msgpack+zstd://` is
 * `new ChainedSerializer([new MsgpackSerializer(), new ZstdCompressor()])`.
 *
 * @example
 * ```ts
 * const serializer = new ChainedSerializer<User>([new JsonSerializer(), new ZlibCompressor()]);
 * ```
 */
export class ChainedSerializer<V = unknown> implements Serializer<V> {
  /** The layers, in `serialize` order. */
  readonly layers: readonly Serializer[];

  constructor(layers: readonly Serializer[]) {
    this.layers = [...layers];
  }

  serialize(value: V): unknown {
    let current: unknown = value;
    for (const layer of this.layers) current = layer.serialize(current);
    return current;
  }

  deserialize(wire: unknown): V {
    let current = wire;
    for (let index = this.layers.length - 1; index >= 0; index--) {
      current = (this.layers[index] as Serializer).deserialize(current);
    }
    return current as V;
  }
}
