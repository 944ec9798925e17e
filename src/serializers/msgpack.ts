import type * as Msgpackr from "msgpackr";
import { toBytes } from "../internal/bytes.js";
import { loadOptional } from "../internal/load-optional.js";
import type { Serializer, WireValue } from "./serializer.js";

let sharedPackr: Msgpackr.Packr | undefined;

/**
 * The one `msgpackr` instance, configured for plain MessagePack that Python's `msgpack` reads and
 * writes: no records extension, smallest map headers, objects for maps, and 64-bit integers as
 * `number` when they fit in ±2^53 and as `bigint` beyond (never silently rounded).
 */
function packr(): Msgpackr.Packr {
  if (sharedPackr === undefined) {
    const { Packr: PackrClass } = loadOptional("msgpackr", "msgpack://") as typeof Msgpackr;
    sharedPackr = new PackrClass({
      useRecords: false,
      variableMapSize: true,
      mapsAsObjects: true,
      moreTypes: false,
      // "auto" is supported by msgpackr's decoder but missing from its type declarations.
      int64AsType: "auto" as "bigint",
    });
  }
  return sharedPackr;
}

/**
 * MessagePack (`msgpack://`) through the optional peer `msgpackr`: compact, fast, and shared with
 * Python cachetory's `msgpack://`. `bigint` encodes as a 64-bit integer, byte arrays as `bin`;
 * integers beyond 32 bits held in a `number` encode as float64 (msgpackr's choice), which Python
 * reads as `float`.
 *
 * @example
 * ```ts
 * const serializer = serializers.fromUrl("msgpack+zstd://");
 * ```
 */
export class MsgpackSerializer<V = unknown> implements Serializer<V, Uint8Array> {
  /** @throws ConfigurationError when `msgpackr` is not installed. */
  constructor() {
    packr();
  }

  serialize(value: V): Uint8Array {
    return packr().pack(value);
  }

  deserialize(wire: WireValue): V {
    return packr().unpack(toBytes(wire)) as V;
  }
}
