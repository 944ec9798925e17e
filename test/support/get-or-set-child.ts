/**
 * One instance of a service for the cross-process getOrSet tests (L4, G4, G5): a `Cache` over the Redis
 * given as the first argument, told what to do by JSON lines on stdin, answering by JSON lines on stdout.
 *
 * - `{ "op": "stampede", "key", "callers", "options", "factoryMs", "tag" }`: that many concurrent
 *   `getOrSet` calls of one key; the factory announces `{ "event": "computing" }`, waits `factoryMs`, and
 *   returns `{ by: tag }`. Answers `{ "event": "done", calls, answers }` (the distinct answers' `by`).
 * - `{ "op": "readers", "keys", "durationMs", "options", "factoryMs", "inFlight" }`: reads keys `k0…` in
 *   rounds, `inFlight` at a time, for `durationMs`; answers `{ "event": "done", computations }`, each
 *   `[key index, Date.now(), whether a stale value was in hand]`, and how many reads it made.
 */
import { createInterface } from "node:readline";
import { Cache } from "../../src/cache/cache.js";
import type { GetOrSetOptions } from "../../src/cache/get-or-set-options.js";

const url = process.argv[2];
if (url === undefined) throw new Error("usage: get-or-set-child.ts redis://…");
const cache = new Cache<unknown>({ backend: url, serializer: "json://", onError: () => undefined });
const say = (message: unknown): void => {
  process.stdout.write(`${JSON.stringify(message)}\n`);
};
const sleep = (milliseconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, milliseconds));

interface Stampede {
  readonly op: "stampede";
  readonly key: string;
  readonly callers: number;
  readonly options: GetOrSetOptions;
  readonly factoryMs: number;
  readonly tag: string;
}

interface Readers {
  readonly op: "readers";
  readonly keys: number;
  readonly durationMs: number;
  readonly options: GetOrSetOptions;
  readonly factoryMs: number;
  readonly inFlight: number;
}

async function stampede(command: Stampede): Promise<void> {
  let calls = 0;
  const answers = await Promise.allSettled(
    Array.from({ length: command.callers }, () =>
      cache.getOrSet(
        command.key,
        async () => {
          calls++;
          say({ event: "computing" });
          await sleep(command.factoryMs);
          return { by: command.tag };
        },
        command.options,
      ),
    ),
  );
  const distinct = new Set(
    answers.map((answer) =>
      answer.status === "fulfilled" ? (answer.value as { by: string }).by : `error: ${String(answer.reason)}`,
    ),
  );
  say({ event: "done", calls, answers: [...distinct] });
}

async function readers(command: Readers): Promise<void> {
  const computations: [number, number, boolean][] = [];
  const until = performance.now() + command.durationMs;
  let next = 0;
  let reads = 0;
  const reader = async (): Promise<void> => {
    while (performance.now() < until) {
      const index = next++ % command.keys;
      reads++;
      await cache.getOrSet(
        `k${String(index)}`,
        async ({ stale }) => {
          computations.push([index, Date.now(), stale !== undefined]);
          await sleep(command.factoryMs);
          return index;
        },
        command.options,
      );
    }
  };
  await Promise.all(Array.from({ length: command.inFlight }, reader));
  say({ event: "done", computations, reads });
}

say({ event: "ready" });
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as Stampede | Readers | { op: "exit" };
  if (command.op === "exit") break;
  if (command.op === "stampede") await stampede(command);
  else await readers(command);
}
await cache.close();
