/**
 * Any decoded value as JSON text, for the `cachetory` command: what JSON has stays itself; what it has not
 * is marked with one key that says what it was, so nothing is silently changed. Bytes are
 * `{"$bytes":"<base64>"}`, a `bigint` is `{"$bigint":"123"}`, a `Map` is `{"$map":[[key,value],…]}`, a `Set`
 * is `{"$set":[…]}`, a `Date` is `{"$date":"<ISO 8601>"}`, `undefined` is `{"$undefined":true}`, and numbers
 * JSON cannot write (`NaN`, `Infinity`, `-0`) are `{"$number":"NaN"}`.
 *
 * @example
 * ```ts
 * toJsonText(new Map([["a", 1n]])); // '{"$map":[["a",{"$bigint":"1"}]]}'
 * ```
 */
export function toJsonText(value: unknown, indent?: number): string {
  return JSON.stringify(toJsonValue(value, new Set()), undefined, indent);
}

function toJsonValue(value: unknown, seen: Set<object>): unknown {
  if (value === undefined) return { $undefined: true };
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (typeof value === "number") {
    return Number.isFinite(value) && !Object.is(value, -0)
      ? value
      : { $number: Object.is(value, -0) ? "-0" : String(value) };
  }
  if (typeof value !== "object" || value === null) return value;
  if (value instanceof Uint8Array)
    return { $bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString() };
  if (seen.has(value)) return { $cycle: true };
  seen.add(value);
  try {
    if (value instanceof Map)
      return { $map: [...value].map(([key, item]) => [toJsonValue(key, seen), toJsonValue(item, seen)]) };
    if (value instanceof Set) return { $set: [...value].map((item) => toJsonValue(item, seen)) };
    if (Array.isArray(value)) return value.map((item) => toJsonValue(item, seen));
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toJsonValue(item, seen)]));
  } finally {
    seen.delete(value);
  }
}
