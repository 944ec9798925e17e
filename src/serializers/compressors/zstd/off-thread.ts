import { Worker } from "node:worker_threads";
import { moduleLocation } from "../../../internal/module-location.js";

/** One (de)compression for the zstd worker. */
export interface ZstdJob {
  readonly id: number;
  readonly operation: "compress" | "decompress";
  readonly input: Uint8Array;
  readonly compressionLevel: number;
  readonly maxDecompressedSize: number;
  readonly compressionThreads: number;
}

/** The worker's answer: the output, or the error's name and message. */
export type ZstdJobResult =
  | { readonly id: number; readonly output: Uint8Array }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string } };

interface PendingJob {
  readonly resolve: (output: Uint8Array) => void;
  readonly reject: (error: Error) => void;
  readonly onThisThread: () => Uint8Array;
}

function workerUrl(): URL {
  const extension = /\.[cm]?[jt]s$/.exec(moduleLocation)?.[0] ?? ".js";
  return new URL(`../serializers/compressors/zstd/worker${extension}`, moduleLocation);
}

let worker: Worker | undefined;
/** Set once a worker could not start (say, the file is missing from a bundle): work stays on this thread. */
let unavailable = false;
let answeredJobs = 0;
let nextId = 0;
const pending = new Map<number, PendingJob>();

/**
 * Runs a zstd job on one shared worker thread, so that a large value does not stall the event loop
 * on a Node without asynchronous zstd. The worker keeps the process alive only while it has work.
 * Should the worker fail to start or die, the jobs it held run on the calling thread instead: slower
 * for the event loop, never lost.
 *
 * @example
 * ```ts
 * const settings = { compressionLevel: 3, maxDecompressedSize: 2 ** 27, compressionThreads: 0 };
 * const output = await zstdOffThread({ ...settings, operation: "compress", input }, () => compressHere(input));
 * ```
 */
export function zstdOffThread(job: Omit<ZstdJob, "id">, onThisThread: () => Uint8Array): Promise<Uint8Array> {
  if (unavailable) return Promise.resolve().then(onThisThread);
  return new Promise((resolve, reject) => {
    const current = worker ?? startWorker();
    const id = nextId++;
    const full: ZstdJob = { ...job, id };
    pending.set(id, { resolve, reject, onThisThread });
    if (pending.size === 1) current.ref();
    current.postMessage(full);
  });
}

/** How many jobs the worker has answered, and whether it was found unusable (for tests and diagnostics). */
export function zstdWorkerStatus(): { answeredJobs: number; unavailable: boolean } {
  return { answeredJobs, unavailable };
}

function startWorker(): Worker {
  const started = new Worker(workerUrl());
  started.on("message", (result: ZstdJobResult) => {
    answeredJobs++;
    const job = pending.get(result.id);
    if (job === undefined) return;
    pending.delete(result.id);
    if (pending.size === 0) started.unref();
    if ("output" in result) job.resolve(result.output);
    else job.reject(new (result.error.name === "RangeError" ? RangeError : Error)(result.error.message));
  });
  const fallBack = (): void => {
    if (worker !== started) return;
    worker = undefined;
    if (answeredJobs === 0) unavailable = true;
    for (const job of pending.values()) {
      try {
        job.resolve(job.onThisThread());
      } catch (error) {
        job.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    pending.clear();
  };
  started.on("error", fallBack);
  started.on("exit", fallBack);
  started.unref();
  worker = started;
  return started;
}
