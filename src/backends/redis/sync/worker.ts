/**
 * The worker thread of the synchronous Redis backend: it runs the async `RedisBackend` and answers
 * each request on its port, then bumps a shared counter so that the blocked caller wakes up.
 */
import { type MessagePort, workerData } from "node:worker_threads";
import { RedisBackend } from "../backend.js";
import {
  HANDING_OVER,
  REPLIES,
  transferables,
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
  switch (request.operation) {
    case "get":
      return backend.get(...request.arguments);
    case "getMany":
      return backend.getMany(...request.arguments);
    case "set":
      return backend.set(...request.arguments);
    case "setMany":
      return backend.setMany(...request.arguments);
    case "expireIn":
      return backend.expireIn(...request.arguments);
    case "delete":
      return backend.delete(...request.arguments);
    case "deleteMany":
      return backend.deleteMany(...request.arguments);
    case "deleteIfUnchanged":
      return backend.deleteIfUnchanged(...request.arguments);
    case "has":
      return backend.has(...request.arguments);
    case "clear":
      return backend.clear(...request.arguments);
    case "close":
      return backend.close();
  }
}

port.on("message", (request: WorkerRequest) => {
  perform(request).then(
    (value) => {
      answer({ id: request.id, ok: true, value });
    },
    (error: unknown) => {
      const { name, message, code, key } = error as { name?: string; message?: string; code?: string; key?: string };
      answer({
        id: request.id,
        ok: false,
        error: { name: name ?? "Error", message: message ?? String(error), code, key },
      });
    },
  );
});

answer({ id: 0, ok: true, value: "ready" });
