const LONGEST_KEY_IN_MESSAGES = 120;

/** ` of key "a"` after an operation's name in a message (`get of key "a"`), or `""` without a key. */
export function describeKey(key: string | undefined): string {
  return key === undefined ? "" : ` of key ${quoteKey(key)}`;
}

/** A key as it may appear in a message: quoted, and cut when very long. */
export function quoteKey(key: string): string {
  const shown = key.length > LONGEST_KEY_IN_MESSAGES ? `${key.slice(0, LONGEST_KEY_IN_MESSAGES)}…` : key;
  return JSON.stringify(shown);
}
