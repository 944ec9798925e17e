/**
 * Python's pickle writes strings as UTF-8 with `surrogatepass`: a lone surrogate (which JavaScript
 * strings may hold) becomes its three-byte form instead of U+FFFD. These two functions do the same, so
 * such strings cross unchanged in both directions.
 */

import { hasLoneSurrogate } from "../bytes.js";

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
 * The text of UTF-8 bytes that may hold surrogates in their three-byte form.
 *
 * @throws TypeError for bytes that are not UTF-8 even so.
 */
export function decodeSurrogatePass(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    // Only surrogates (ED A0..BF xx) may be what the strict decoder refused; anything else still fails.
  }
  let text = "";
  for (let index = 0; index < bytes.length;) {
    const lead = bytes[index] ?? 0;
    const width = lead < 0x80 ? 1 : lead >= 0xf0 && lead < 0xf5 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
    if (width === 0 || index + width > bytes.length) throw new TypeError(`invalid UTF-8 at byte ${String(index)}`);
    let codePoint = width === 1 ? lead : lead & (0xff >> (width + 1));
    for (let offset = 1; offset < width; offset++) {
      const continuation = bytes[index + offset] ?? 0;
      if ((continuation & 0xc0) !== 0x80) throw new TypeError(`invalid UTF-8 at byte ${String(index + offset)}`);
      codePoint = (codePoint << 6) | (continuation & 63);
    }
    const minimum = [0, 0, 0x80, 0x800, 0x10000][width] ?? 0;
    if (codePoint < minimum || codePoint > 0x10ffff) throw new TypeError(`invalid UTF-8 at byte ${String(index)}`);
    text += String.fromCodePoint(codePoint);
    index += width;
  }
  return text;
}
