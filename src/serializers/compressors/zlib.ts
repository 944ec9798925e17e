import { deflate, deflateSync, inflate, inflateSync } from "node:zlib";
import { type CompressorOptions, type LevelRange, NodeZlibCompressor, type NodeZlibFormat } from "./compressor.js";

/** zlib levels: 0 (store) to 9 (smallest); 6 is zlib's own default. */
export const ZLIB_LEVELS: LevelRange = { min: 0, max: 9, default: 6 };

const ZLIB_FORMAT: NodeZlibFormat = {
  compressSync: deflateSync,
  compress: deflate,
  decompressSync: inflateSync,
  decompress: inflate,
};

/**
 * The zlib format (`zlib://`, `compression-level` 0–9, default 6): the bytes Python's `zlib.compress`
 * writes, so Python cachetory's `zlib://` values read back here and the reverse.
 *
 * @example
 * ```ts
 * const serializer = serializers.fromUrl("json+zlib://?compression-level=9");
 * const same = new ZlibCompressor({ compressionLevel: 9 });
 * ```
 */
export class ZlibCompressor extends NodeZlibCompressor {
  /** @throws ConfigurationError for a level outside 0–9. */
  constructor(options: CompressorOptions = {}) {
    super("zlib", ZLIB_LEVELS, options, ZLIB_FORMAT);
  }
}
