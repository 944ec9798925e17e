import { ConfigurationError } from "../errors.js";

/** How a value looks in a message: strings quoted, objects by their kind, never their contents. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "function") return "a function";
  if (value === undefined) return "undefined";
  const primitive = value as number | bigint | boolean | symbol;
  return `${typeof primitive} ${String(primitive)}`;
}

/**
 * The shape of an options object that a call or constructor takes: its name in messages, the option
 * names it knows, and an example of the right form.
 */
export interface OptionsShape {
  readonly what: string;
  readonly known: readonly string[];
  readonly example: string;
}

/**
 * Checks that `options` is `undefined` or a plain object with only known names. Callers without types
 * write `set(k, v, 5000)` or `{ ttl: 5000 }` (the keyv and cache-manager forms): without this check
 * those would store an entry that never expires.
 *
 * @param ErrorType - `TypeError` for the options of a call, `ConfigurationError` for a constructor's.
 * @throws the given error type, naming the problem and showing the right form.
 */
export function checkOptions(
  options: unknown,
  shape: OptionsShape,
  ErrorType: new (message: string) => Error = TypeError,
): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ErrorType(
      `${shape.what} takes an options object such as ${shape.example}, got ${describeValue(options)}`,
    );
  }
  for (const name in options) {
    if (!shape.known.includes(name)) {
      throw new ErrorType(
        `unknown option ${JSON.stringify(name)} for ${shape.what}; known: ${shape.known.join(", ")} (e.g. ${shape.example})`,
      );
    }
  }
}

/** {@link checkOptions} for the options of a constructor or factory: failures are `ConfigurationError`s. */
export function checkConfiguration(options: unknown, shape: OptionsShape): void {
  checkOptions(options, shape, ConfigurationError);
}
