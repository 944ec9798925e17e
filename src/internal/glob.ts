/**
 * Key globs as Redis's `SCAN MATCH` and `KEYS` read them, for the stores that match keys themselves: `*`
 * any run of characters, `?` one, `[abc]`, `[^abc]` and `[a-z]` a class, and `\` before a character to
 * take it literally. Written here because the glob libraries of the field (minimatch, picomatch) match
 * paths: `*` stops at `/` and a leading `.` is special, where a cache key has no such structure. The
 * matching follows Redis's own (`stringmatchlen`) byte for byte, corner cases included, and a test
 * compares the two on random patterns.
 */

/** `text` with the glob characters escaped, so that a pattern matches it literally (a prefix, B14). */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

type Token =
  | { readonly kind: "star" }
  | { readonly kind: "any" }
  | { readonly kind: "byte"; readonly byte: number }
  | { readonly kind: "class"; readonly negated: boolean; readonly ranges: readonly (readonly [number, number])[] };

const STAR: Token = { kind: "star" };
const ANY: Token = { kind: "any" };

/**
 * The UTF-8 bytes of `text`, one character per byte (what Redis matches against). Redis compares class
 * ranges as C `char`s, signed on the machines it runs on: bytes from 0x80 sort below ASCII.
 */
function bytesOf(text: string): number[] {
  return [...Buffer.from(text, "utf8")].map((byte) => (byte >= 0x80 ? byte - 0x100 : byte));
}

/** The pattern as tokens, read as `stringmatchlen` reads it. */
function tokenize(pattern: readonly number[]): Token[] {
  const tokens: Token[] = [];
  const BACKSLASH = 0x5c;
  for (let index = 0; index < pattern.length; index++) {
    const byte = pattern[index] as number;
    if (byte === 0x2a) {
      if (tokens.at(-1) !== STAR) tokens.push(STAR);
    } else if (byte === 0x3f) {
      tokens.push(ANY);
    } else if (byte === BACKSLASH && index + 1 < pattern.length) {
      tokens.push({ kind: "byte", byte: pattern[++index] as number });
    } else if (byte === 0x5b) {
      index++;
      const negated = pattern[index] === 0x5e;
      if (negated) index++;
      const ranges: [number, number][] = [];
      // Up to the closing "]", or to the end of the pattern when there is none.
      for (; index < pattern.length && pattern[index] !== 0x5d; index++) {
        const member = pattern[index] as number;
        if (member === BACKSLASH && index + 1 < pattern.length) {
          const escaped = pattern[++index] as number;
          ranges.push([escaped, escaped]);
        } else if (index + 2 < pattern.length && pattern[index + 1] === 0x2d) {
          const end = pattern[index + 2] as number;
          ranges.push(member <= end ? [member, end] : [end, member]);
          index += 2;
        } else {
          ranges.push([member, member]);
        }
      }
      tokens.push({ kind: "class", negated, ranges });
    } else {
      tokens.push({ kind: "byte", byte });
    }
  }
  return tokens;
}

function matchesOne(token: Token, byte: number): boolean {
  switch (token.kind) {
    case "any":
      return true;
    case "byte":
      return token.byte === byte;
    case "class": {
      const inside = token.ranges.some(([low, high]) => byte >= low && byte <= high);
      return inside !== token.negated;
    }
    case "star":
      return false;
  }
}

/**
 * A test of whole keys against `pattern`, byte for byte as Redis matches (`?` is one byte of UTF-8, so
 * `"?"` does not match `"é"` and `"??"` does).
 *
 * @example
 * ```ts
 * globMatcher("user:[0-9]*")("user:42"); // true
 * ```
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  const tokens = tokenize(bytesOf(pattern));
  // Redis matches nothing against an empty key but an empty pattern; SCAN takes a lone "*" as "every key".
  const matchesEmpty = pattern === "" || pattern === "*";
  return (key) => {
    if (key === "") return matchesEmpty;
    const bytes = bytesOf(key);
    let token = 0;
    let position = 0;
    // Where to resume after the last star: the token after it, and the byte it has eaten up to.
    let afterStar = -1;
    let starEaten = 0;
    while (position < bytes.length) {
      const current = tokens[token];
      if (current === STAR) {
        afterStar = ++token;
        starEaten = position;
      } else if (current !== undefined && matchesOne(current, bytes[position] as number)) {
        token++;
        position++;
      } else if (afterStar !== -1) {
        token = afterStar;
        position = ++starEaten;
      } else {
        return false;
      }
    }
    while (tokens[token] === STAR) token++;
    return token === tokens.length;
  };
}

/**
 * The text every key matching `pattern` starts with: its characters up to the first `*`, `?` or `[`, with
 * `\` escapes taken literally. A store that keeps its keys in order scans only that range.
 *
 * @example
 * ```ts
 * literalPrefix("app:user\\*:*"); // "app:user*:"
 * ```
 */
export function literalPrefix(pattern: string): string {
  let prefix = "";
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index] as string;
    if (character === "*" || character === "?" || character === "[") break;
    if (character === "\\") {
      // A trailing backslash matches itself, as Redis reads it.
      if (index + 1 < pattern.length) index++;
      prefix += pattern[index] as string;
    } else prefix += character;
  }
  return prefix;
}
