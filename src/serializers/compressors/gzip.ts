import { gunzip, gunzipSync, gzip, gzipSync } from "node:zlib";
import { type CompressorOptions, NodeZlibCompressor, type NodeZlibFormat } from "./compressor.js";
import { ZLIB_LEVELS } from "./zlib.js";

const GZIP_FORMAT: NodeZlibFormat = {
  compressSync: gzipSync,
  compress: gzip,
  decompressSync: gunzipSync,
  decompress: gunzip,
};

/**
 * The gzip format (`gzip://`, `compression-level` 0–9, default 6): deflate with a gzip header and a
 * CRC-32, readable by `gunzip` and every HTTP stack.
 *
 * @example
 * ```ts
 * const serializer = serializers.fromUrl("json+gzip://");
 * ```
 */
export class GzipCompressor extends NodeZlibCompressor {
  /** @throws ConfigurationError for a level outside 0–9. */
  constructor(options: CompressorOptions = {}) {
    super("gzip", ZLIB_LEVELS, options, GZIP_FORMAT);
  }
}
