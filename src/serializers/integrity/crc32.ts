import zlib from "node:zlib";

type Crc32 = (data: Uint8Array | string, initial?: number) => number;

let table: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, as zlib's) in JavaScript, for Node releases before 20.15 that lack `zlib.crc32`. */
function crc32InJavaScript(data: Uint8Array | string, initial = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let byte = 0; byte < 256; byte++) {
      let remainder = byte;
      for (let bit = 0; bit < 8; bit++) remainder = remainder & 1 ? 0xedb88320 ^ (remainder >>> 1) : remainder >>> 1;
      table[byte] = remainder;
    }
  }
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  let crc = ~initial >>> 0;
  for (const byte of bytes) crc = (table[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

/**
 * CRC-32 of `data`, continuing from `initial`: zlib's own (native, vectorised: 28 µs for 100 KB here,
 * against 82 µs for SHA-256) where Node has it, else the same function in JavaScript.
 */
export const crc32: Crc32 =
  typeof (zlib as { crc32?: unknown }).crc32 === "function"
    ? (zlib as unknown as { crc32: Crc32 }).crc32
    : crc32InJavaScript;

/** Exported for the test that checks both give the same answers. */
export { crc32InJavaScript };
