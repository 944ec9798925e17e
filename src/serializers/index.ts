export { ChainedSerializer } from "./chained.js";
export { BrotliCompressor } from "./compressors/brotli.js";
export {
  type CompressionEngine,
  Compressor,
  type CompressorOptions,
  EngineCompressor,
  DEFAULT_MAX_DECOMPRESSED_SIZE,
  DEFAULT_OFF_THREAD_BYTES,
  type LevelRange,
  NodeZlibCompressor,
  type NodeZlibFormat,
  type ZlibCallbackFunction,
} from "./compressors/compressor.js";
export { GzipCompressor } from "./compressors/gzip.js";
export { ZlibCompressor } from "./compressors/zlib.js";
export { ZstdCompressor, type ZstdCompressorOptions } from "./compressors/zstd/compressor.js";
export { ChecksumSerializer } from "./integrity/checksum.js";
export { type HmacKey, HmacSerializer, type HmacSerializerOptions } from "./integrity/hmac.js";
export { JsonSerializer } from "./json.js";
export { MsgpackSerializer } from "./msgpack.js";
export { NoopSerializer } from "./noop.js";
export { DEFAULT_PICKLE_PROTOCOL, PickleSerializer, type PickleSerializerOptions } from "./pickle/serializer.js";
export { fromUrl, registerSerializer, serializerSchemes } from "./registry.js";
export type { EntrySeal, Sealing, Serializer, WireValue } from "./contract.js";
export { V8Serializer } from "./v8.js";
export type { CacheUrl, IntegerParameter, UrlCredentials, UrlParameters } from "../internal/cache-url.js";
export type { RegisterOptions, SchemeFactory } from "../internal/scheme-registry.js";
