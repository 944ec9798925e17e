const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * The bytes of a wire value: a string as UTF-8, a `Uint8Array` (or `Buffer`) as it is.
 *
 * @throws TypeError for anything else.
 */
export function toBytes(wire: unknown): Uint8Array {
  if (wire instanceof Uint8Array) return wire;
  if (typeof wire === "string") return Buffer.from(wire, "utf8");
  throw new TypeError(`expected a string or bytes, got ${describeType(wire)}`);
}

/**
 * The text of a wire value: a string as it is, bytes decoded as strict UTF-8.
 *
 * @throws TypeError for invalid UTF-8 or a value that is neither text nor bytes.
 */
export function toText(wire: unknown): string {
  if (typeof wire === "string") return wire;
  if (wire instanceof Uint8Array) return strictUtf8.decode(wire);
  throw new TypeError(`expected a string or bytes, got ${describeType(wire)}`);
}

/** A short name of a value's type for messages, never the value itself (it may be secret). */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/** Whether `text` holds a lone UTF-16 surrogate, which has no UTF-8 form (Node writes U+FFFD for it). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/**
 * The size of a stored value for byte bounds: UTF-8 length for strings, `byteLength` for bytes, what an
 * object says in its own `storedSize` (an enveloped value), 1 for anything else (and at least 1, so that
 * an empty value still counts).
 */
export function storedSize(value: unknown): number {
  if (typeof value === "string") return Math.max(1, Buffer.byteLength(value, "utf8"));
  if (value instanceof Uint8Array) return Math.max(1, value.byteLength);
  const own = (value as { storedSize?: unknown } | null)?.storedSize;
  return typeof own === "number" ? Math.max(1, own) : 1;
}
