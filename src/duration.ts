/** The units of a {@link Duration} string. */
export type DurationUnit = "ms" | "s" | "m" | "h" | "d";

/** One `<number><unit>` part of a {@link Duration} string: `"500ms"`, `"1.5s"`. */
export type DurationPart = `${number}${DurationUnit}`;

/**
 * A length of time: milliseconds as a number, or a string of one to four `<number><unit>` parts with
 * the units `ms`, `s`, `m`, `h`, `d` (`"500ms"`, `"90s"`, `"1h30m"`, `"2d"`, `"1.5s"`). The type
 * refuses `"5 minutes"` or `"5x"` when it is compiled; a string read from configuration (a plain
 * `string`) is checked at run time by {@link toMilliseconds}.
 *
 * @example
 * ```ts
 * await cache.set("session", data, { timeToLive: "30m" });
 * await cache.set("token", data, { timeToLive: 90_000 });
 * await cache.set("report", data, { timeToLive: toMilliseconds(process.env.REPORT_TTL ?? "1h") });
 * ```
 */
export type Duration =
  | number
  | DurationPart
  | `${DurationPart}${DurationPart}`
  | `${DurationPart}${DurationPart}${DurationPart}`
  | `${DurationPart}${DurationPart}${DurationPart}${DurationPart}`;

const MILLISECONDS_PER_UNIT: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** The longest duration any backend is given, in milliseconds. */
export const MAX_DURATION_MS: number = 2 ** 53;

const WHOLE_DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

function invalid(value: unknown, rule: string): RangeError {
  const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  return new RangeError(`invalid duration ${shown}: ${rule}`);
}

/**
 * Converts a {@link Duration} to whole milliseconds; fractions of a millisecond round up.
 *
 * @throws RangeError quoting the value when it is zero, negative, not finite, not parsable, or longer
 *   than 2^53 ms.
 * @example
 * ```ts
 * toMilliseconds("1h30m"); // 5_400_000
 * toMilliseconds(1.2);     // 2
 * ```
 */
export function toMilliseconds(duration: number | string): number {
  let milliseconds: number;
  if (typeof duration === "number") {
    milliseconds = duration;
  } else if (typeof duration === "string") {
    const text = duration.trim();
    if (!WHOLE_DURATION.test(text)) {
      throw invalid(duration, 'expected milliseconds or a string such as "500ms", "90s", "5m", "1h30m" or "2d"');
    }
    milliseconds = 0;
    for (const [, amount, unit] of text.matchAll(DURATION_PART)) {
      milliseconds += Number(amount) * (MILLISECONDS_PER_UNIT[unit ?? "ms"] ?? 1);
    }
  } else {
    throw invalid(duration, "expected a number of milliseconds or a string");
  }
  if (!Number.isFinite(milliseconds) || milliseconds <= 0) {
    throw invalid(duration, "must be a positive, finite length of time");
  }
  // One bound for every backend, checked before anything is sent: up to 2^53 every whole millisecond
  // is exact, and Redis's PX (now + ms, in 64 bits) accepts every one of them.
  if (milliseconds > MAX_DURATION_MS) {
    throw invalid(duration, `must be at most ${String(MAX_DURATION_MS)} ms (2^53, about 285 000 years)`);
  }
  return Math.ceil(milliseconds);
}

/**
 * Like {@link toMilliseconds}, but `null` and `undefined` mean "no expiry" and give `undefined`.
 *
 * @example
 * ```ts
 * toTimeToLive(undefined); // undefined
 * toTimeToLive("5m");      // 300_000
 * ```
 */
export function toTimeToLive(duration: number | string | null | undefined): number | undefined {
  return duration === null || duration === undefined ? undefined : toMilliseconds(duration);
}
