import { ConfigurationError } from "../errors.js";
import { PASS_THROUGH } from "./integrity/bound-key.js";
import type { Sealing, Serializer } from "./contract.js";

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

  /** Present when a layer can work off the event loop (a compressor): each layer runs its own way. */
  readonly serializeAsync?: (value: V) => Promise<unknown>;
  /** Present with {@link ChainedSerializer.serializeAsync}. */
  readonly deserializeAsync?: (wire: unknown) => Promise<V>;

  /** Present when the last layer is an integrity layer (`+checksum://`, `+hmac://`): see {@link Serializer.sealing}. */
  readonly sealing?: Sealing<V>;

  /** @throws ConfigurationError for an integrity layer anywhere but last. */
  constructor(layers: readonly Serializer[]) {
    this.layers = [...layers];
    const last = this.layers.at(-1);
    for (const layer of this.layers) {
      if (layer !== last && layer.sealing !== undefined) {
        throw new ConfigurationError(
          `${layer.sealing.seal.scheme} goes last in a chain (it checks the bytes that are stored), and only once`,
        );
      }
    }
    if (last?.sealing !== undefined) {
      const before = this.layers.slice(0, -1);
      if (last.sealing.inner !== PASS_THROUGH) before.push(last.sealing.inner);
      this.sealing = {
        inner: (before.length === 1 ? before[0] : new ChainedSerializer(before)) as Serializer<V>,
        seal: last.sealing.seal,
      };
    }
    if (this.layers.some((layer) => layer.serializeAsync !== undefined)) {
      this.serializeAsync = async (value) => {
        let current: unknown = value;
        for (const layer of this.layers) {
          current = layer.serializeAsync === undefined ? layer.serialize(current) : await layer.serializeAsync(current);
        }
        return current;
      };
      this.deserializeAsync = async (wire) => {
        let current = wire;
        for (let index = this.layers.length - 1; index >= 0; index--) {
          const layer = this.layers[index] as Serializer;
          current =
            layer.deserializeAsync === undefined ? layer.deserialize(current) : await layer.deserializeAsync(current);
        }
        return current as V;
      };
    }
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
