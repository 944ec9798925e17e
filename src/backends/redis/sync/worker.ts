/**
 * The worker thread of the synchronous Redis backend: it runs the async `RedisBackend` and answers
 * each request on its port, then bumps a shared counter so that the blocked caller wakes up.
 */
import { type MessagePort, workerData } from "node:worker_threads";
import { RedisBackend } from "../backend.js";
import { errorParts } from "./errors-across-threads.js";
import {
  HANDING_OVER,
  REPLIES,
  transferables,
  WORKER_OPERATIONS,
  type WorkerReply,
  type WorkerRequest,
  type WorkerSetup,
} from "./protocol.js";

const setup = workerData as WorkerSetup;
const port: MessagePort = setup.port;
let backend: RedisBackend | undefined;
let setupError: unknown;
try {
  backend = new RedisBackend({ url: setup.url, ...setup.timings });
} catch (error) {
  // Reported to every caller, rather than crashing the worker (which the caller would only see as silence).
  setupError = error;
}

function answer(reply: WorkerReply): void {
  Atomics.store(setup.signal, HANDING_OVER, reply.id);
  try {
    port.postMessage(reply, reply.ok ? transferables(reply.value) : []);
  } finally {
    Atomics.store(setup.signal, HANDING_OVER, 0);
    Atomics.add(setup.signal, REPLIES, 1);
    Atomics.notify(setup.signal, REPLIES);
  }
}

async function perform(request: WorkerRequest): Promise<unknown> {
  if (backend === undefined) throw setupError;
  // Only the backend's operations, by name: the caller's side is ours, but a name is checked all the same.
  if (!(WORKER_OPERATIONS as readonly string[]).includes(request.operation)) {
    throw new TypeError(`the Redis worker has no operation ${JSON.stringify(request.operation)}`);
  }
  const operations = backend as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return operations[request.operation]?.(...request.arguments);
}

port.on("message", (request: WorkerRequest) => {
  perform(request).then(
    (value) => {
      answer({ id: request.id, ok: true, value });
    },
    (error: unknown) => {
      answer({ id: request.id, ok: false, error: errorParts(error) });
    },
  );
});

answer({ id: 0, ok: true, value: "ready" });
