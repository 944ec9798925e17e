/**
 * The worker thread of a `WorkerThreadBackend`: it builds the async backend it was asked for (loading only
 * that one), answers each request on its port, then bumps a shared counter so that the blocked caller
 * wakes up.
 */
import { type MessagePort, workerData } from "node:worker_threads";
import type { AsyncBackend } from "../contract.js";
import { errorParts } from "./errors-across-threads.js";
import {
  HANDING_OVER,
  REPLIES,
  transferables,
  WORKER_OPERATIONS,
  type WorkerBackendKind,
  type WorkerReply,
  type WorkerRequest,
  type WorkerSetup,
} from "./protocol.js";

const setup = workerData as WorkerSetup;
const port: MessagePort = setup.port;

const BUILDERS: Record<WorkerBackendKind, (options: Readonly<Record<string, unknown>>) => Promise<AsyncBackend>> = {
  redis: async (options) => new (await import("../redis/backend.js")).RedisBackend(options),
  postgres: async (options) => new (await import("../postgres/backend.js")).PostgresBackend(options),
  memcached: async (options) => new (await import("../memcached/backend.js")).MemcachedBackend(options),
};

// A failure to build is reported to every caller, rather than crashing the worker (which the caller would
// only see as silence).
const built: Promise<AsyncBackend> = BUILDERS[setup.kind](setup.options);
built.catch(() => undefined);

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
  const backend = await built;
  // Only the backend's operations, by name: the caller's side is ours, but a name is checked all the same.
  if (!(WORKER_OPERATIONS as readonly string[]).includes(request.operation)) {
    throw new TypeError(`the backend worker has no operation ${JSON.stringify(request.operation)}`);
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

const ready = (): void => {
  answer({ id: 0, ok: true, value: "ready" });
};
built.then(ready, ready);
