import { deflate, deflateSync, inflate, inflateSync } from "node:zlib";
import { Compressor, type CompressorOptions, type LevelRange } from "./compressor.js";

/** zlib levels: 0 (store) to 9 (smallest); 6 is zlib's own default. */
export const ZLIB_LEVELS: LevelRange = { min: 0, max: 9, default: 6 };

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
export class ZlibCompressor extends Compressor {
  /** @throws ConfigurationError for a level outside 0–9. */
  constructor(options: CompressorOptions = {}) {
    super("zlib", ZLIB_LEVELS, options);
  }

  protected compress(input: Uint8Array): Uint8Array {
    return deflateSync(input, { level: this.compressionLevel });
  }

  protected decompress(input: Uint8Array): Uint8Array {
    return this.boundedZlib(() => inflateSync(input, { maxOutputLength: this.maxDecompressedSize }));
  }

  protected override compressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.onThreadPool(deflate, input, { level: this.compressionLevel });
  }

  protected override decompressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.onThreadPool(inflate, input, { maxOutputLength: this.maxDecompressedSize });
  }
}
