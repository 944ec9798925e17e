import { gunzip, gunzipSync, gzip, gzipSync } from "node:zlib";
import { Compressor, type CompressorOptions } from "./compressor.js";
import { ZLIB_LEVELS } from "./zlib.js";

/**
 * The gzip format (`gzip://`, `compression-level` 0–9, default 6): deflate with a gzip header and a
 * CRC-32, readable by `gunzip` and every HTTP stack.
 *
 * @example
 * ```ts
 * const serializer = serializers.fromUrl("json+gzip://");
 * ```
 */
export class GzipCompressor extends Compressor {
  /** @throws ConfigurationError for a level outside 0–9. */
  constructor(options: CompressorOptions = {}) {
    super("gzip", ZLIB_LEVELS, options);
  }

  protected compress(input: Uint8Array): Uint8Array {
    return gzipSync(input, { level: this.compressionLevel });
  }

  protected decompress(input: Uint8Array): Uint8Array {
    return this.boundedZlib(() => gunzipSync(input, { maxOutputLength: this.maxDecompressedSize }));
  }

  protected override compressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.onThreadPool(gzip, input, { level: this.compressionLevel });
  }

  protected override decompressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.onThreadPool(gunzip, input, { maxOutputLength: this.maxDecompressedSize });
  }
}
