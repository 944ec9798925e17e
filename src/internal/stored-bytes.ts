import { BackendError, SerializationError } from "../errors.js";
import { quoteKey } from "./quote-key.js";

/** A key as the stores of bytes keep it: its UTF-8 bytes, which sort as the key's code points do. */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, "utf8");
}

/**
 * The smallest byte string above every string that starts with `prefix`, or `null` when there is none
 * (the prefix is all 0xFF bytes): the exclusive upper bound of a range scan in key order.
 */
export function prefixEnd(prefix: Buffer): Buffer | null {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return null;
  const bound = Buffer.from(prefix.subarray(0, end));
  bound[end - 1] = (bound[end - 1] as number) + 1;
  return bound;
}

/**
 * A value for a store of bytes: bytes as they are (no copy), strings as UTF-8.
 *
 * @param store - For messages: `"PostgreSQL"`.
 * @param maxBytes - The most the store takes in one value.
 * @throws SerializationError for anything else (a serializer is missing); BackendError over `maxBytes`.
 */
export function storedBytes(
  store: string,
  key: string,
  value: unknown,
  maxBytes: number = Number.MAX_SAFE_INTEGER,
): Buffer {
  let bytes: Buffer;
  if (Buffer.isBuffer(value)) bytes = value;
  else if (value instanceof Uint8Array) bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  else if (typeof value === "string") bytes = Buffer.from(value, "utf8");
  else {
    throw new SerializationError(
      `${store} stores strings and bytes, but the value of key ${quoteKey(key)} is a ${typeof value}: use a serializer such as json:// or msgpack://`,
      { key },
    );
  }
  if (bytes.byteLength > maxBytes) {
    throw new BackendError(
      `the value of key ${quoteKey(key)} is ${String(bytes.byteLength)} bytes, over the ${String(maxBytes)} bytes ${store} stores in one value; nothing was sent`,
      { key },
    );
  }
  return bytes;
}
