import { ConfigurationError } from "../errors.js";
import { CacheUrl } from "../internal/cache-url.js";
import { type RegisterOptions, type SchemeFactory, SchemeRegistry } from "../internal/scheme-registry.js";
import { ChainedSerializer } from "./chained.js";
import { BrotliCompressor, BROTLI_LEVELS } from "./compressors/brotli.js";
import { compressorOptionsFromUrl } from "./compressors/compressor.js";
import { GzipCompressor } from "./compressors/gzip.js";
import { ZLIB_LEVELS, ZlibCompressor } from "./compressors/zlib.js";
import { ZSTD_LEVELS, ZstdCompressor } from "./compressors/zstd/compressor.js";
import { ChecksumSerializer } from "./integrity/checksum.js";
import { hmacFromUrl } from "./integrity/hmac.js";
import { JsonSerializer } from "./json.js";
import { MsgpackSerializer } from "./msgpack.js";
import { DEFAULT_PICKLE_PROTOCOL, PickleSerializer } from "./pickle/serializer.js";
import { NoopSerializer } from "./noop.js";
import type { Serializer } from "./contract.js";
import { V8Serializer } from "./v8.js";

type AnySerializer = Serializer;

const zstd: SchemeFactory<AnySerializer> = (_url, parameters) =>
  new ZstdCompressor({
    ...compressorOptionsFromUrl(parameters, ZSTD_LEVELS),
    compressionThreads: parameters.integer("compression-threads", { min: 0, max: 256, default: 0 }),
  });

const noop: SchemeFactory<AnySerializer> = () => new NoopSerializer();

/** The built-in serializer schemes. */
const BUILT_IN_SERIALIZERS: Readonly<Record<string, SchemeFactory<AnySerializer>>> = {
  /** Passes values through (memory backend only). */
  noop,
  /** The seed's alias of `noop://`. */
  null: noop,
  /** JSON text. */
  json: () => new JsonSerializer(),
  /** MessagePack via the optional peer `msgpackr`. */
  msgpack: () => new MsgpackSerializer(),
  /** Node's structured clone (trusted stores only). */
  v8: () => new V8Serializer(),
  /** zlib, `compression-level` 0–9. */
  zlib: (_url, parameters) => new ZlibCompressor(compressorOptionsFromUrl(parameters, ZLIB_LEVELS)),
  /** gzip, `compression-level` 0–9. */
  gzip: (_url, parameters) => new GzipCompressor(compressorOptionsFromUrl(parameters, ZLIB_LEVELS)),
  /** Brotli, `compression-level` 0–11. */
  brotli: (_url, parameters) => new BrotliCompressor(compressorOptionsFromUrl(parameters, BROTLI_LEVELS)),
  /** Zstandard, `compression-level` 1–22, `compression-threads` ≥ 0. */
  zstd,
  /** The seed's alias of `zstd://`. */
  zstandard: zstd,
  /** A CRC-32 of the stored bytes and key, checked on the way out; last in a chain. */
  checksum: () => new ChecksumSerializer(),
  /** HMAC-SHA-256 of the stored bytes and key under the secret in `key-env`; last in a chain. */
  hmac: (_url, parameters) => hmacFromUrl(parameters),
  /** Python's pickle, plain data only and never running code; `pickle-protocol` 2–5 (default 4). */
  pickle: (_url, parameters) =>
    new PickleSerializer({
      protocol: parameters.integer("pickle-protocol", { min: 2, max: 5, default: DEFAULT_PICKLE_PROTOCOL }),
    }),
};

const registry = new SchemeRegistry<AnySerializer>("serializer", BUILT_IN_SERIALIZERS);

/**
 * Builds a serializer from a URL. `+` chains layers (`msgpack+zstd://`); the query parameters are
 * shared by the chain and each layer reads its own. A parameter no layer reads is an error.
 *
 * @throws ConfigurationError for an unknown scheme (listing the known ones) or a bad parameter.
 * @example
 * ```ts
 * const serializer = serializers.fromUrl<User>("msgpack+zstd://?compression-level=3");
 * ```
 */
export function fromUrl<V = unknown>(url: string): Serializer<V> {
  const parsed = new CacheUrl(url);
  if (parsed.location !== "") {
    throw new ConfigurationError(
      `a serializer URL has no host or path: expected "${parsed.scheme}://" or "${parsed.scheme}://?parameter=value", got ${JSON.stringify(parsed.redacted)}`,
    );
  }
  const schemes = parsed.scheme.split("+");
  const layers = schemes.map((scheme) =>
    registry.factoryFor(scheme, parsed)(parsed, parsed.parametersFor(scheme), undefined),
  );
  parsed.rejectUnreadParameters();
  return (layers.length === 1 ? layers[0] : new ChainedSerializer(layers)) as Serializer<V>;
}

/**
 * Adds (or, with `{ replace: true }`, replaces) a serializer scheme usable in `fromUrl` and in `+`
 * chains. Scheme names cannot contain `+`.
 *
 * @example
 * ```ts
 * registerSerializer("base64", () => ({
 *   serialize: (bytes) => Buffer.from(bytes as Uint8Array).toString("base64"),
 *   deserialize: (text) => Buffer.from(String(text), "base64"),
 * }));
 * serializers.fromUrl("msgpack+base64://");
 * ```
 */
export function registerSerializer(
  scheme: string,
  factory: SchemeFactory<Serializer>,
  options?: RegisterOptions,
): void {
  if (scheme.includes("+")) {
    throw new ConfigurationError(`invalid serializer scheme ${JSON.stringify(scheme)}: "+" joins layers of a chain`);
  }
  registry.register(scheme, factory, options);
}

/**
 * The registered serializer schemes, sorted.
 *
 * @example
 * ```ts
 * serializerSchemes(); // ["brotli", "gzip", "json", "msgpack", …]
 * ```
 */
export function serializerSchemes(): string[] {
  return registry.schemes;
}
