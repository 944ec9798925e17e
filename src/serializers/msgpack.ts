import type * as Msgpackr from "msgpackr";
import { toBytes } from "../internal/bytes.js";
import { loadOptional } from "../internal/load-optional.js";
import type { Serializer, WireValue } from "./serializer.js";

let sharedPackr: Msgpackr.Packr | undefined;
let mapPackr: Msgpackr.Packr | undefined;

const PROTO_KEY = Buffer.from("__proto__");

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
      // msgpackr would write a function as `undefined`, silently (B12).
      writeFunction: () => {
        throw new TypeError("msgpack:// cannot write functions");
      },
    });
  }
  return sharedPackr;
}

/** A second instance that decodes maps as `Map`s, for the rare input that holds a `__proto__` key. */
function mapUnpacker(): Msgpackr.Packr {
  if (mapPackr === undefined) {
    const { Packr: PackrClass } = loadOptional("msgpackr", "msgpack://") as typeof Msgpackr;
    mapPackr = new PackrClass({ useRecords: false, mapsAsObjects: false, int64AsType: "auto" as "bigint" });
  }
  return mapPackr;
}

/**
 * Turns decoded `Map`s into plain objects, each key an own property: `__proto__` included, which
 * msgpackr itself renames to `__proto_` (B5: neither renamed nor a prototype).
 */
function mapsToObjects(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mapsToObjects);
  if (!(value instanceof Map)) return value;
  const object: Record<string, unknown> = {};
  for (const [key, item] of value as Map<unknown, unknown>) {
    Object.defineProperty(object, String(key), {
      value: mapsToObjects(item),
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return object;
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
    const bytes = toBytes(wire);
    // Only input that spells "__proto__" somewhere takes the slower, exact path.
    if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(PROTO_KEY)) {
      return mapsToObjects(mapUnpacker().unpack(bytes)) as V;
    }
    return packr().unpack(bytes) as V;
  }
}
