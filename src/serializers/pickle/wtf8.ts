/**
 * Python's pickle writes strings as UTF-8 with `surrogatepass`: a lone surrogate (which JavaScript
 * strings may hold) becomes its three-byte form instead of U+FFFD. These two functions do the same, so
 * such strings cross unchanged in both directions.
 */

import { hasLoneSurrogate } from "../../internal/bytes.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of `text`, lone surrogates included (as Python's `surrogatepass`). */
export function encodeSurrogatePass(text: string): Buffer {
  if (!hasLoneSurrogate(text)) return Buffer.from(text, "utf8");
  const bytes: number[] = [];
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    const next = text.charCodeAt(index + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      const codePoint = 0x10000 + ((unit - 0xd800) << 10) + (next - 0xdc00);
      bytes.push(0xf0 | (codePoint >> 18), 0x80 | ((codePoint >> 12) & 63), 0x80 | ((codePoint >> 6) & 63));
      bytes.push(0x80 | (codePoint & 63));
      index++;
    } else if (unit < 0x80) bytes.push(unit);
    else if (unit < 0x800) bytes.push(0xc0 | (unit >> 6), 0x80 | (unit & 63));
    else bytes.push(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 63), 0x80 | (unit & 63));
  }
  return Buffer.from(bytes);
}

/**
 * The text of UTF-8 bytes that may hold surrogates in their three-byte form (`ED A0..BF xx`). Linear
 * in the input and without a string per character: one pass writes UTF-16 code units into an array,
 * which Node turns into a string in one go (its UTF-16 decoding keeps lone surrogates as they are).
 *
 * @throws TypeError for bytes that are not UTF-8 even so.
 */
export function decodeSurrogatePass(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    // Only surrogates may be what the strict decoder refused; anything else still fails below.
  }
  const units = new Uint16Array(bytes.length);
  let count = 0;
  for (let index = 0; index < bytes.length;) {
    const lead = bytes[index] as number;
    const width = lead < 0x80 ? 1 : lead >= 0xf0 && lead < 0xf5 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
    if (width === 0 || index + width > bytes.length) throw new TypeError(`invalid UTF-8 at byte ${String(index)}`);
    let codePoint = width === 1 ? lead : lead & (0xff >> (width + 1));
    for (let offset = 1; offset < width; offset++) {
      const continuation = bytes[index + offset] as number;
      if ((continuation & 0xc0) !== 0x80) throw new TypeError(`invalid UTF-8 at byte ${String(index + offset)}`);
      codePoint = (codePoint << 6) | (continuation & 63);
    }
    if (codePoint < MINIMUM_OF_WIDTH[width] || codePoint > 0x10ffff) {
      throw new TypeError(`invalid UTF-8 at byte ${String(index)}`);
    }
    if (codePoint < 0x10000) units[count++] = codePoint;
    else {
      units[count++] = 0xd800 + ((codePoint - 0x10000) >> 10);
      units[count++] = 0xdc00 + ((codePoint - 0x10000) & 0x3ff);
    }
    index += width;
  }
  return Buffer.from(units.buffer, 0, count * 2).toString("utf16le");
}

/** The smallest code point of each UTF-8 width: a longer form of a smaller one is not UTF-8. */
const MINIMUM_OF_WIDTH = [0, 0, 0x80, 0x800, 0x10000] as const;
