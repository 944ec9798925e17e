import { createHash } from "node:crypto";
import { ConfigurationError } from "../errors.js";

/**
 * Builds the cache key of one call of a memoized function from the function (its `name` is the
 * memoized identity: the `name` option, the function's name, or `Class.method`) and the arguments.
 */
export type MakeKey = (fn: { readonly name: string }, args: readonly unknown[]) => string;

const PLAIN_NAME = /^[\w$.-]+$/;

let lastName = "";
let lastEncodedName = "";

/** The function's identity as the first part of a key: bare when it is a plain name, quoted otherwise. */
function encodeName(name: string): string {
  // Calls of one function follow each other: the last answer saves a regular expression per call.
  if (name !== lastName) {
    lastEncodedName = PLAIN_NAME.test(name) ? name : JSON.stringify(name);
    lastName = name;
  }
  return lastEncodedName;
}

/**
 * One argument as text. Every form is self-delimiting (strings are JSON-quoted; containers are
 * bracketed; nothing else contains `:` `,` or brackets), so the joined list can be read back in only
 * one way: distinct argument lists give distinct keys.
 */
function encodeValue(value: unknown, seen: Set<object>): string {
  switch (typeof value) {
    case "string":
      // JSON.stringify leaves lone surrogates as escapes ("\ud800"), so they stay distinct as well.
      return JSON.stringify(value);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${String(value)}n`;
    case "boolean":
      return String(value);
    case "undefined":
      return "undefined";
    case "function":
    case "symbol":
      throw new ConfigurationError(
        `makeDefaultKey cannot build a key from a ${typeof value} argument: pass makeKey to cached() to build keys yourself`,
      );
    case "object":
      return value === null ? "null" : encodeObject(value, seen);
  }
}

function encodeObject(value: object, seen: Set<object>): string {
  if (seen.has(value)) {
    throw new ConfigurationError("makeDefaultKey cannot build a key from a cyclic argument: pass makeKey to cached()");
  }
  seen.add(value);
  try {
    if (Array.isArray(value)) return `[${value.map((item: unknown) => encodeValue(item, seen)).join(",")}]`;
    if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? "NaN" : value.toISOString()})`;
    if (value instanceof Uint8Array)
      return `Bytes(${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")})`;
    if (value instanceof Map) {
      const entries = [...value].map(([key, item]) => `${encodeValue(key, seen)}=>${encodeValue(item, seen)}`);
      return `Map{${entries.sort().join(",")}}`;
    }
    if (value instanceof Set)
      return `Set{${[...value]
        .map((item) => encodeValue(item, seen))
        .sort()
        .join(",")}}`;
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype === Object.prototype || prototype === null) {
      const entries = Object.keys(value)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${encodeValue((value as Record<string, unknown>)[key], seen)}`);
      return `{${entries.join(",")}}`;
    }
    const className = (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
    throw new ConfigurationError(
      `makeDefaultKey cannot build a key from a ${className} instance (its state may be hidden from it): pass makeKey to cached(), or pass plain data`,
    );
  } finally {
    seen.delete(value);
  }
}

/**
 * The default key of a memoized call: readable, and **injective** (distinct argument lists never give
 * the same key). The function's name, then each argument, joined by `:`. Strings are JSON-quoted, so
 * `1` and `"1"`, `null` and `"null"`, `"a:"`+`"b"` and `"a"`+`":b"` all differ; plain objects are
 * rendered with sorted keys, so key order does not matter; `Map` and `Set` are rendered sorted; `Date`,
 * `BigInt`, `undefined`, `NaN`, `-0`, bytes and nested arrays are supported.
 *
 * @throws ConfigurationError for functions, symbols, class instances and cycles (pass `makeKey`).
 * @example
 * ```ts
 * makeDefaultKey(getUser, [1, "full"]);         // 'getUser:1:"full"'
 * makeDefaultKey(search, [{ q: "x", page: 2 }]); // 'search:{"page":2,"q":"x"}'
 * ```
 */
export function makeDefaultKey(fn: { readonly name: string }, args: readonly unknown[]): string {
  let seen: Set<object> | undefined;
  let key = encodeName(fn.name);
  for (const argument of args) {
    if (typeof argument === "object" && argument !== null) key += `:${encodeValue(argument, (seen ??= new Set()))}`;
    else key += `:${encodeValue(argument, EMPTY)}`;
  }
  return key;
}

/** What primitives are "inside of": nothing, so no set is allocated for them. */
const EMPTY: Set<object> = new Set();

/**
 * The BLAKE2s-256 hex digest (64 characters) of {@link makeDefaultKey}: fixed length, not readable, as
 * in Python cachetory.
 *
 * @throws ConfigurationError as {@link makeDefaultKey} does.
 * @example
 * ```ts
 * const find = cached(cache, { makeKey: makeDefaultHashedKey })(findUser);
 * ```
 */
export function makeDefaultHashedKey(fn: { readonly name: string }, args: readonly unknown[]): string {
  return createHash("blake2s256").update(makeDefaultKey(fn, args)).digest("hex");
}
