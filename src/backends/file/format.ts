import { crc32 } from "../../serializers/integrity/crc32.js";

/**
 * The layout of one entry file, version 1 (all numbers little-endian):
 *
 * | offset | bytes | field |
 * | ---: | ---: | --- |
 * | 0 | 4 | magic `89 43 54 59` (a high byte first, as PNG's, so a text-mode copy shows) |
 * | 4 | 1 | format version (1) |
 * | 5 | 3 | zero |
 * | 8 | 8 | expiry, milliseconds since the epoch as a float64; 0 for never |
 * | 16 | 4 | key length in bytes |
 * | 20 | 4 | value length in bytes |
 * | 24 | 4 | CRC-32 of the value |
 * | 28 | 4 | CRC-32 of bytes 0–27 and the key |
 * | 32 | … | the key's UTF-8 bytes, then the value |
 *
 * The header's own checksum lets `has`, `ttl` and the sweep trust a header without reading the value.
 */
export const HEADER_BYTES = 32;

const MAGIC = 0x59544389;
const VERSION = 1;

/** The longest value one entry file holds (its length is a 32-bit field). */
export const MAX_VALUE_BYTES = 0xffff_ffff;

/** What an entry file's header says. */
export interface EntryHeader {
  /** Milliseconds since the epoch; `undefined` for an entry that never expires. */
  readonly expiresAt: number | undefined;
  readonly keyLength: number;
  readonly valueLength: number;
  readonly valueChecksum: number;
  /** The whole file's length, header included. */
  readonly fileLength: number;
}

/**
 * The header and key of an entry, ready to be written before its value.
 *
 * @param valueChecksum - CRC-32 of the value.
 */
export function encodeHead(
  key: Buffer,
  valueLength: number,
  valueChecksum: number,
  expiresAt: number | undefined,
): Buffer {
  const head = Buffer.allocUnsafe(HEADER_BYTES + key.length);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(VERSION, 4);
  head.writeDoubleLE(expiresAt ?? 0, 8);
  head.writeUInt32LE(key.length, 16);
  head.writeUInt32LE(valueLength, 20);
  head.writeUInt32LE(valueChecksum, 24);
  key.copy(head, HEADER_BYTES);
  head.writeUInt32LE(headChecksum(head, key), 28);
  return head;
}

function headChecksum(bytes: Buffer, key: Buffer): number {
  return crc32(key, crc32(bytes.subarray(0, 28)));
}

/**
 * The header at the start of `bytes`, or `undefined` when these bytes are no entry of this format (another
 * program's file, another version, or too short to tell).
 */
export function decodeHeader(bytes: Buffer): EntryHeader | undefined {
  if (bytes.length < HEADER_BYTES || bytes.readUInt32LE(0) !== MAGIC || bytes.readUInt32LE(4) !== VERSION) {
    return undefined;
  }
  const expiresAt = bytes.readDoubleLE(8);
  const keyLength = bytes.readUInt32LE(16);
  const valueLength = bytes.readUInt32LE(20);
  if (!Number.isFinite(expiresAt) || expiresAt < 0) return undefined;
  return {
    expiresAt: expiresAt === 0 ? undefined : expiresAt,
    keyLength,
    valueLength,
    valueChecksum: bytes.readUInt32LE(24),
    fileLength: HEADER_BYTES + keyLength + valueLength,
  };
}

/**
 * The key stored after `header` in `bytes`, or `undefined` when it is cut short or the header's checksum
 * does not match (a corrupt file).
 */
export function storedKey(bytes: Buffer, header: EntryHeader): Buffer | undefined {
  if (bytes.length < HEADER_BYTES + header.keyLength) return undefined;
  const key = bytes.subarray(HEADER_BYTES, HEADER_BYTES + header.keyLength);
  return headChecksum(bytes, key) === bytes.readUInt32LE(28) ? key : undefined;
}
