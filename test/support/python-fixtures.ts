/** The fixtures written by Python cachetory 3.5.1 (test/fixtures, copied from shared/interop). */
import { readFileSync } from "node:fs";

export interface FixtureCase {
  readonly url: string;
  readonly name: string;
  readonly value: unknown;
  readonly wire: string;
}

export const fixtures = JSON.parse(
  readFileSync(new URL("../fixtures/python-cachetory-3.5.1.json", import.meta.url), "utf8"),
) as { cases: FixtureCase[] };

/** The fixture's JSON value with `{"$bytes": HEX}` turned into bytes. */
export function expectedValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expectedValue);
  if (value !== null && typeof value === "object") {
    const bytes = (value as { $bytes?: unknown }).$bytes;
    if (typeof bytes === "string") return Buffer.from(bytes, "hex");
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, expectedValue(inner)]));
  }
  return value;
}

/** Buffers compared by content, whatever their class. */
export function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, normalize(inner)]));
  }
  return value;
}

/** The serializer URLs of the fixtures, every one of which we read. */
export const SUPPORTED = /^(json|msgpack|pickle|zlib|zstd)(\+(zlib|zstd))?:\/\//;
