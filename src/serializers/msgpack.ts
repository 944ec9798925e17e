import type * as Msgpackr from "msgpackr";
import { toBytes } from "../internal/bytes.js";
import { loadOptional } from "../internal/load-optional.js";
import { typedFailure } from "./failure.js";
import type { Serializer, WireValue } from "./contract.js";

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

/** The extension types msgpack:// itself writes: 0 (`undefined`, msgpackr's) and −1 (timestamp, `Date`). */
const OWN_EXTENSIONS = new Set([0x00, 0xff]);

/** msgpackr's own extension types, for messages. */
const EXTENSION_NAMES: Readonly<Record<number, string>> = {
  0x42: "a large bigint",
  0x62: "a string bundle",
  0x65: "an Error",
  0x69: "a shared reference (cycles)",
  0x70: "a pointer to a shared value (cycles)",
  0x73: "a Set",
  0x74: "a typed array",
  0x78: "a RegExp",
};

/**
 * For each header byte from 0xc4 on that is neither a container nor an extension: how many bytes of
 * fixed size follow it (ints, floats), or, negated, how many bytes of length precede its payload (bin,
 * str). One table lookup per value, nothing allocated.
 */
const FOLLOWING = (() => {
  const table = new Int8Array(256);
  for (const [lead, size] of [
    [0xc4, -1],
    [0xd9, -1],
    [0xc5, -2],
    [0xda, -2],
    [0xc6, -4],
    [0xdb, -4],
    [0xca, 4],
    [0xce, 4],
    [0xd2, 4],
    [0xcb, 8],
    [0xcf, 8],
    [0xd3, 8],
    [0xcc, 1],
    [0xd0, 1],
    [0xcd, 2],
    [0xd1, 2],
  ] as const) {
    table[lead] = size;
  }
  return table;
})();

/** The big-endian unsigned integer of `width` (1, 2 or 4) bytes at `at`. */
function readUint(bytes: Uint8Array, at: number, width: number): number {
  if (width === 1) return bytes[at] as number;
  if (width === 2) return ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
  return (
    (bytes[at] as number) * 0x1000000 +
    (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number))
  );
}

/**
 * Walks the MessagePack structure of `bytes` (linear, no recursion: a count of the values still to
 * read) and refuses any extension type that msgpack:// does not write. msgpackr's extensions are
 * global to its module and would decode foreign bytes into a `RegExp` (catastrophic patterns
 * included), an `Error`, or self-referencing structures: only plain data may come out of a store.
 * Malformed input is left to msgpackr, which names it.
 *
 * @throws TypeError naming the extension type.
 */
function refuseForeignExtensions(bytes: Uint8Array): void {
  const end = bytes.length;
  let position = 0;
  let pending = 1;
  while (pending > 0 && position < end) {
    pending--;
    const lead = bytes[position++] as number;
    if (lead <= 0x7f || lead >= 0xe0 || lead === 0xc0 || lead === 0xc2 || lead === 0xc3) continue;
    if (lead <= 0x8f) pending += 2 * (lead & 0x0f);
    else if (lead <= 0x9f) pending += lead & 0x0f;
    else if (lead <= 0xbf) position += lead & 0x1f;
    else if (lead >= 0xdc && lead <= 0xdf) {
      // array16, array32, map16, map32
      const width = lead & 1 ? 4 : 2;
      if (position + width > end) return;
      pending += readUint(bytes, position, width) * (lead >= 0xde ? 2 : 1);
      position += width;
    } else if ((lead >= 0xc7 && lead <= 0xc9) || (lead >= 0xd4 && lead <= 0xd8)) {
      let size: number;
      if (lead >= 0xd4) size = 1 << (lead - 0xd4);
      else {
        const width = 1 << (lead - 0xc7);
        if (position + width > end) return;
        size = readUint(bytes, position, width);
        position += width;
      }
      const type = bytes[position];
      if (type === undefined) return;
      if (!OWN_EXTENSIONS.has(type)) {
        const name = EXTENSION_NAMES[type];
        throw new TypeError(
          `msgpack:// reads plain data only: refused extension type ${String(type > 127 ? type - 256 : type)}${name === undefined ? "" : ` (${name})`}`,
        );
      }
      position += 1 + size;
    } else {
      const following = FOLLOWING[lead] as number;
      if (following >= 0) position += following;
      else {
        if (position - following > end) return;
        position += -following + readUint(bytes, position, -following);
      }
    }
  }
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

  /** @throws SerializationError for what msgpack:// cannot write (functions, symbols). */
  serialize(value: V): Uint8Array {
    try {
      return packr().pack(value);
    } catch (cause) {
      throw typedFailure("msgpack://", "encode", cause);
    }
  }

  /** @throws SerializationError for malformed bytes or an extension type that msgpack:// does not write. */
  deserialize(wire: WireValue): V {
    try {
      const bytes = toBytes(wire);
      refuseForeignExtensions(bytes);
      // Only input that spells "__proto__" somewhere takes the slower, exact path.
      if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(PROTO_KEY)) {
        return mapsToObjects(mapUnpacker().unpack(bytes)) as V;
      }
      return packr().unpack(bytes) as V;
    } catch (cause) {
      throw typedFailure("msgpack://", "decode", cause);
    }
  }
}
