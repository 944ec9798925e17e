import { brotliCompress, brotliCompressSync, brotliDecompress, brotliDecompressSync, constants } from "node:zlib";
import { Compressor, type CompressorOptions, type LevelRange } from "./compressor.js";

/** Brotli quality: 0 to 11. The default is 4: Brotli's own 11 is far too slow for a cache write path. */
export const BROTLI_LEVELS: LevelRange = { min: 0, max: 11, default: 4 };

/**
 * Brotli (`brotli://`, `compression-level` 0–11, default 4), built into Node: the smallest output of
 * the built-ins at high levels, at a high CPU cost there.
 *
 * @example
 * ```ts
 * const serializer = serializers.fromUrl("v8+brotli://?compression-level=6");
 * ```
 */
export class BrotliCompressor extends Compressor {
  /** @throws ConfigurationError for a level outside 0–11. */
  constructor(options: CompressorOptions = {}) {
    super("brotli", BROTLI_LEVELS, options);
  }

  protected compress(input: Uint8Array): Uint8Array {
    return brotliCompressSync(input, this.#compressOptions(input));
  }

  protected override compressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.onThreadPool(brotliCompress, input, this.#compressOptions(input));
  }

  protected override decompressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.onThreadPool(brotliDecompress, input, { maxOutputLength: this.maxDecompressedSize });
  }

  #compressOptions(input: Uint8Array): object {
    return {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: this.compressionLevel,
        [constants.BROTLI_PARAM_SIZE_HINT]: input.byteLength,
      },
    };
  }

  protected decompress(input: Uint8Array): Uint8Array {
    return this.boundedZlib(() => brotliDecompressSync(input, { maxOutputLength: this.maxDecompressedSize }));
  }
}
