import { SerializationError } from "../../errors.js";
import { NoopSerializer } from "../noop.js";
import type { WireValue } from "../contract.js";

/** What an integrity layer alone in a cache serializes with: nothing, values are text or bytes already. */
export const PASS_THROUGH: NoopSerializer<WireValue> = new NoopSerializer<WireValue>();

/**
 * What an integrity layer covers besides the stored bytes: the backend key, then its UTF-8 length as
 * four bytes. The length comes last so that the split between bytes and key is never ambiguous (else
 * "ab" stored under "c" and "a" stored under "bc" would carry the same seal).
 */
export function keySuffix(key: string): Buffer {
  const length = Buffer.byteLength(key);
  const suffix = Buffer.allocUnsafe(length + 4);
  suffix.write(key, 0, "utf8");
  suffix.writeUInt32BE(length, length);
  return suffix;
}

/**
 * `data` as bytes with `trailerBytes` of room after them, written once: text is encoded straight into the
 * buffer (for a 100 KB JSON text, no second copy: 75 µs instead of 127 µs here).
 */
export function withRoom(data: Uint8Array | string, trailerBytes: number): { sealed: Buffer; value: Buffer } {
  const length = typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
  const sealed = Buffer.allocUnsafe(length + trailerBytes);
  if (typeof data === "string") sealed.write(data, 0, length, "utf8");
  else sealed.set(data, 0);
  return { sealed, value: sealed.subarray(0, length) };
}

/**
 * `bytes` split into the stored value and the trailer of `trailerBytes` after it, over the same memory.
 *
 * @throws SerializationError naming `check` ("checksum:// cannot check") when `bytes` cannot hold a trailer.
 */
export function splitTrailer(
  bytes: Uint8Array,
  trailerBytes: number,
  check: string,
  trailer: string,
): { value: Buffer; trailer: Buffer } {
  const end = bytes.byteLength - trailerBytes;
  if (end < 0) {
    throw new SerializationError(`${check} ${String(bytes.byteLength)} bytes: too short to hold ${trailer}`);
  }
  const buffer = asBuffer(bytes);
  return { value: buffer.subarray(0, end), trailer: buffer.subarray(end) };
}

/** `bytes` as a Buffer over the same memory. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
