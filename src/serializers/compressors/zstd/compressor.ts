import * as zlib from "node:zlib";
import { ConfigurationError } from "../../../errors.js";
import { loadOptional } from "../../../internal/load-optional.js";
import { NodeZlibEngine, type NodeZlibFormat, type ZlibCallbackFunction } from "../node-zlib-engine.js";
import { type ZstdNapi, type ZstdNapiBinding, ZstdNapiEngine } from "./napi-engine.js";
import { Compressor, type CompressorOptions, type LevelRange } from "../compressor.js";

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
export class ZstdCompressor extends Compressor {
  /** Worker threads used to compress (0: none). */
  readonly compressionThreads: number;
  /** Node's own zstd where it has one, else `zstd-napi`. */
  readonly #engine: NodeZlibEngine | ZstdNapiEngine;

  /** @throws ConfigurationError for a bad option, or when neither built-in zstd nor `zstd-napi` is available. */
  constructor(options: ZstdCompressorOptions = {}) {
    super("zstd", ZSTD_LEVELS, options);
    this.compressionThreads = options.compressionThreads ?? 0;
    if (!Number.isInteger(this.compressionThreads) || this.compressionThreads < 0 || this.compressionThreads > 256) {
      throw new ConfigurationError(
        `compressionThreads must be an integer 0–256 for zstd://, got ${String(this.compressionThreads)}`,
      );
    }
    const tooLarge = (cause?: unknown): Error => this.tooLarge(cause);
    if (BUILT_IN_FORMAT !== undefined) {
      const { constants } = builtIn;
      const compressOptions = {
        params: {
          [constants.ZSTD_c_compressionLevel as number]: this.compressionLevel,
          [constants.ZSTD_c_nbWorkers as number]: this.compressionThreads,
        },
      };
      this.#engine = new NodeZlibEngine(BUILT_IN_FORMAT, {
        compressOptions: () => compressOptions,
        maxDecompressedSize: this.maxDecompressedSize,
        tooLarge,
      });
    } else {
      this.#engine = new ZstdNapiEngine(
        loadOptional("zstd-napi", "zstd:// on Node < 22.15") as ZstdNapi,
        loadOptional("zstd-napi/binding", "zstd:// on Node < 22.15") as ZstdNapiBinding,
        {
          compressionLevel: this.compressionLevel,
          compressionThreads: this.compressionThreads,
          maxDecompressedSize: this.maxDecompressedSize,
          tooLarge,
        },
      );
    }
  }

  protected compress(input: Uint8Array): Uint8Array {
    return this.#engine.compress(input);
  }

  protected decompress(input: Uint8Array): Uint8Array {
    return this.#engine.decompress(input);
  }

  protected override compressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.#engine.compressOffThread(input);
  }

  protected override decompressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.#engine.decompressOffThread(input);
  }
}
