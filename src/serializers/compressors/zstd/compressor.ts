import * as zlib from "node:zlib";
import { ConfigurationError } from "../../../errors.js";
import { loadOptional } from "../../../internal/load-optional.js";
import { NodeZlibEngine, type NodeZlibFormat, type ZlibCallbackFunction } from "../node-zlib-engine.js";
import { type ZstdNapi, type ZstdNapiBinding, ZstdNapiEngine } from "./napi-engine.js";
import { type CompressorOptions, EngineCompressor, type LevelRange } from "../compressor.js";

/** zstd levels 1–22; 3 is zstd's own default and a good cache trade-off. */
export const ZSTD_LEVELS: LevelRange = { min: 1, max: 22, default: 3 };

/** Options of {@link ZstdCompressor}. */
export interface ZstdCompressorOptions extends CompressorOptions {
  /** Worker threads for compression; 0 (the default) compresses on the calling thread. URL: `compression-threads`. */
  readonly compressionThreads?: number;
}

/** What Node ≥ 22.15 offers in `node:zlib`; absent on older Node. */
interface BuiltInZstd {
  zstdCompressSync?: (input: Uint8Array, options: object) => Buffer;
  zstdDecompressSync?: (input: Uint8Array, options: object) => Buffer;
  zstdCompress?: ZlibCallbackFunction;
  zstdDecompress?: ZlibCallbackFunction;
  constants: Record<string, number>;
}
const builtIn = zlib as unknown as BuiltInZstd;

/** Node's own zstd as a `node:zlib` format, where the running Node has it. */
const BUILT_IN_FORMAT: NodeZlibFormat | undefined =
  builtIn.zstdCompressSync !== undefined &&
  builtIn.zstdCompress !== undefined &&
  builtIn.zstdDecompressSync !== undefined &&
  builtIn.zstdDecompress !== undefined
    ? {
        compressSync: builtIn.zstdCompressSync,
        compress: builtIn.zstdCompress,
        decompressSync: builtIn.zstdDecompressSync,
        decompress: builtIn.zstdDecompress,
      }
    : undefined;

/**
 * Zstandard (`zstd://`, `zstandard://`; `compression-level` 1–22, default 3; `compression-threads`):
 * fast and compact, and what Python cachetory's `zstd://` reads and writes. Uses Node's built-in zstd
 * where the running Node has it (≥ 22.15), otherwise the optional peer `zstd-napi`.
 *
 * @example
 * ```ts
 * const serializer = serializers.fromUrl("msgpack+zstd://?compression-level=3");
 * const same = new ZstdCompressor({ compressionLevel: 3 });
 * ```
 */
export class ZstdCompressor extends EngineCompressor {
  /** Worker threads used to compress (0: none). */
  readonly compressionThreads: number;

  /** @throws ConfigurationError for a bad option, or when neither built-in zstd nor `zstd-napi` is available. */
  constructor(options: ZstdCompressorOptions = {}) {
    const compressionThreads = options.compressionThreads ?? 0;
    if (!Number.isInteger(compressionThreads) || compressionThreads < 0 || compressionThreads > 256) {
      throw new ConfigurationError(
        `compressionThreads must be an integer 0–256 for zstd://, got ${String(compressionThreads)}`,
      );
    }
    // Node's own zstd where it has one, else zstd-napi.
    super("zstd", ZSTD_LEVELS, options, (compressor) => {
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- the base calls back with this very instance
      const self = compressor as ZstdCompressor;
      const tooLarge = (cause?: unknown): Error => self.tooLarge(cause);
      const { compressionLevel, maxDecompressedSize } = self;
      if (BUILT_IN_FORMAT !== undefined) {
        const { constants } = builtIn;
        const compressOptions = {
          params: {
            [constants.ZSTD_c_compressionLevel as number]: compressionLevel,
            [constants.ZSTD_c_nbWorkers as number]: compressionThreads,
          },
        };
        return new NodeZlibEngine(BUILT_IN_FORMAT, {
          compressOptions: () => compressOptions,
          maxDecompressedSize,
          tooLarge,
        });
      }
      return new ZstdNapiEngine(
        loadOptional("zstd-napi", "zstd:// on Node < 22.15") as ZstdNapi,
        loadOptional("zstd-napi/binding", "zstd:// on Node < 22.15") as ZstdNapiBinding,
        { compressionLevel, compressionThreads, maxDecompressedSize, tooLarge },
      );
    });
    this.compressionThreads = compressionThreads;
  }
}
