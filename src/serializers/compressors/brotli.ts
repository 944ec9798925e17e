import { brotliCompress, brotliCompressSync, brotliDecompress, brotliDecompressSync, constants } from "node:zlib";
import { type CompressorOptions, type LevelRange, NodeZlibCompressor, type NodeZlibFormat } from "./compressor.js";

/** Brotli quality: 0 to 11. The default is 4: Brotli's own 11 is far too slow for a cache write path. */
export const BROTLI_LEVELS: LevelRange = { min: 0, max: 11, default: 4 };

const BROTLI_FORMAT: NodeZlibFormat = {
  compressSync: brotliCompressSync,
  compress: brotliCompress,
  decompressSync: brotliDecompressSync,
  decompress: brotliDecompress,
};

/**
 * Brotli (`brotli://`, `compression-level` 0–11, default 4), built into Node: the smallest output of
 * the built-ins at high levels, at a high CPU cost there.
 *
 * @example
 * ```ts
 * const serializer = serializers.fromUrl("v8+brotli://?compression-level=6");
 * ```
 */
export class BrotliCompressor extends NodeZlibCompressor {
  /** @throws ConfigurationError for a level outside 0–11. */
  constructor(options: CompressorOptions = {}) {
    super("brotli", BROTLI_LEVELS, options, BROTLI_FORMAT);
  }

  /** Brotli takes its quality as a parameter, and a size hint helps it choose its window. */
  protected override compressOptions(input: Uint8Array): object {
    return {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: this.compressionLevel,
        [constants.BROTLI_PARAM_SIZE_HINT]: input.byteLength,
      },
    };
  }
}
