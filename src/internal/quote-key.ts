const LONGEST_KEY_IN_MESSAGES = 120;

/** A key as it may appear in a message: quoted, and cut when very long. */
export function quoteKey(key: string): string {
  const shown = key.length > LONGEST_KEY_IN_MESSAGES ? `${key.slice(0, LONGEST_KEY_IN_MESSAGES)}…` : key;
  return JSON.stringify(shown);
}
