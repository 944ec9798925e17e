import { SerializationError } from "../../errors.js";
import { toBytes } from "../../internal/bytes.js";
import type { EntrySeal, Sealing, Serializer, WireValue } from "../contract.js";
import { PASS_THROUGH, splitTrailer, withRoom } from "./bound-key.js";
import { crc32 } from "./crc32.js";

const CHECKSUM_BYTES = 4;

/** Four bytes reused for the key's length: the checksum runs synchronously, so no call sees another's. */
const keyLength = Buffer.alloc(4);

function checksumOf(bytes: Uint8Array, key: string): number {
  keyLength.writeUInt32BE(Buffer.byteLength(key));
  return crc32(keyLength, crc32(key, crc32(bytes)));
}

/**
 * A CRC-32 of the stored bytes and their key, appended on the way in and checked on the way out
 * (`checksum://`): a value corrupted in the store (a flipped byte, a truncation, another key's value) is
 * an undecodable miss instead of a silently different value. It goes last in a chain
 * (`msgpack+zstd+checksum://`); a cache then checks the whole entry, its metadata and tags included.
 * Four bytes per value; against tampering use {@link HmacSerializer}.
 *
 * @example
 * ```ts
 * const cache = new Cache({ backend: "redis://localhost:6379", serializer: "msgpack+checksum://" });
 * ```
 */
export class ChecksumSerializer implements Serializer<WireValue, Uint8Array>, EntrySeal {
  readonly scheme: string = "checksum://";
  /** Alone in a cache, values must already be text or bytes. */
  get sealing(): Sealing<WireValue> {
    return { inner: PASS_THROUGH, seal: this };
  }

  seal(data: Uint8Array | string, key: string): Uint8Array {
    const { sealed, value } = withRoom(data, CHECKSUM_BYTES);
    sealed.writeUInt32BE(checksumOf(value, key), value.byteLength);
    return sealed;
  }

  open(bytes: Uint8Array, key: string): Uint8Array {
    const { value, trailer } = splitTrailer(bytes, CHECKSUM_BYTES, "checksum:// cannot check", "a checksum");
    if (trailer.readUInt32BE(0) !== checksumOf(value, key)) {
      throw new SerializationError(
        "checksum:// found a checksum that does not match: the value was corrupted, written without checksum://, or stored under another key",
      );
    }
    return value;
  }

  /** Outside a cache (no key): the bytes of `wire` with their checksum. */
  serialize(wire: WireValue): Uint8Array {
    return this.seal(typeof wire === "string" ? wire : toBytes(wire), "");
  }

  /** Outside a cache: the bytes without their checksum. @throws SerializationError for a mismatch. */
  deserialize(wire: Uint8Array): Uint8Array {
    return this.open(toBytes(wire), "");
  }
}
