/** A callback-style function of `node:zlib` (`deflate`, `inflate`, `brotliCompress`, …). */
export type ZlibCallbackFunction = (
  input: Uint8Array,
  options: object,
  callback: (error: Error | null, output: Buffer) => void,
) => void;

/** The four `node:zlib` functions of one format: synchronous, and on the thread pool. */
export interface NodeZlibFormat {
  readonly compressSync: (input: Uint8Array, options: object) => Buffer;
  readonly compress: ZlibCallbackFunction;
  readonly decompressSync: (input: Uint8Array, options: object) => Buffer;
  readonly decompress: ZlibCallbackFunction;
}

/** What a {@link NodeZlibEngine} needs from the compressor it works for. */
export interface NodeZlibEngineSettings {
  /** The format's compression options for one input (its level, a size hint…). */
  readonly compressOptions: (input: Uint8Array) => object;
  /** The most bytes one value may decompress to; Node enforces it (`maxOutputLength`). */
  readonly maxDecompressedSize: number;
  /** The error for output beyond the bound, given Node's own. */
  readonly tooLarge: (cause: unknown) => Error;
}

/**
 * One `node:zlib` format run on the calling thread or on libuv's thread pool, with the same options both
 * ways and Node's size-limit error turned into the compressor's own. zlib, gzip and Brotli use it, and
 * zstd where Node has it built in (≥ 22.15).
 */
export class NodeZlibEngine {
  readonly #format: NodeZlibFormat;
  readonly #settings: NodeZlibEngineSettings;

  constructor(format: NodeZlibFormat, settings: NodeZlibEngineSettings) {
    this.#format = format;
    this.#settings = settings;
  }

  compress(input: Uint8Array): Uint8Array {
    return this.#format.compressSync(input, this.#settings.compressOptions(input));
  }

  decompress(input: Uint8Array): Uint8Array {
    try {
      return this.#format.decompressSync(input, { maxOutputLength: this.#settings.maxDecompressedSize });
    } catch (error) {
      throw this.#bounded(error);
    }
  }

  compressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.#onThreadPool(this.#format.compress, input, this.#settings.compressOptions(input));
  }

  decompressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.#onThreadPool(this.#format.decompress, input, {
      maxOutputLength: this.#settings.maxDecompressedSize,
    });
  }

  #onThreadPool(run: ZlibCallbackFunction, input: Uint8Array, options: object): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      run(input, options, (error, output) => {
        if (error === null) {
          resolve(output);
          return;
        }
        reject(this.#bounded(error));
      });
    });
  }

  /** Node's "output too large" as the compressor's own error; any other error as it is. */
  #bounded(error: unknown): Error {
    if ((error as { code?: unknown } | null)?.code === "ERR_BUFFER_TOO_LARGE") return this.#settings.tooLarge(error);
    return error instanceof Error ? error : new Error(String(error));
  }
}
